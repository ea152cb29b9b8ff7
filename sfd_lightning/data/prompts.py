"""Prompt batches for text-to-image SFD: noise, retained prompts, forget prompts and their overrides.

Like :class:`NoiseLabelDataModule`, the batch of an iteration is a function of (seed, iteration,
rank), and each of its two updates draws its own noise and its own prompts (as the reference's SD
loop does). The override of a forget prompt is the prompt with the concept replaced
(case-insensitive), or the prompt given at the same line of ``override_prompts``. In ``nudity``
mode a forget prompt is a subject with a keyword put before it or after it (drawn at random, as
in the reference), its override is the bare subject, and the negative prompt (by default every
keyword) is guidance's unconditional branch in the forget terms only.
"""

import re
from typing import Dict, List, Literal, Optional, Sequence

import torch
from lightning.pytorch.utilities import rank_zero_warn

from sfd_lightning.data.noise import UPDATES, NoiseLabelDataModule
from sfd_lightning.data.prompt_files import Prompts, prompts_from
from sfd_lightning.data.seeding import generator
from sfd_lightning.errors import ConfigError


def replace_concept(prompt: str, concept: str, replacement: str) -> str:
    return re.sub(re.escape(concept), replacement, prompt, flags=re.IGNORECASE)


def class_of(prompt: str, class_words: Sequence[str], field: str = "class_words") -> int:
    """The index of the one class word the prompt contains (whole words, case-insensitive)."""
    found = [i for i, w in enumerate(class_words) if re.search(rf"\b{re.escape(w.lower())}\b", prompt.lower())]
    if len(found) != 1:
        raise ConfigError(field, f"prompt {prompt!r} names {len(found)} of the class words, expected exactly one")
    return found[0]


def spread(prompts: Sequence[str], n: int) -> List[str]:
    """``n`` prompts spread evenly over the list (all of them if there are fewer): deterministic validation prompts."""
    if len(prompts) <= n:
        return list(prompts)
    return [prompts[int(i * len(prompts) / n)] for i in range(n)]


class PromptDataModule(NoiseLabelDataModule):
    """Per update ``{"z", "labels": retained prompts, "forget_labels", "override_labels"[, "negative_labels"]}``;
    B prompts of each kind per device."""

    def __init__(
        self,
        shape: Sequence[int] = (4, 64, 64),
        batch_size: int = 1,
        iterations: int = 1000,
        seed: int = 0,
        retained_prompts: Optional[Prompts] = None,
        forget_prompts: Optional[Prompts] = None,
        concept: Optional[str] = None,
        replacement: Optional[str] = None,
        override_prompts: Optional[Prompts] = None,
        mode: Literal["concept", "nudity"] = "concept",
        subjects: Optional[Prompts] = None,
        keywords: Optional[Prompts] = None,
        negative_prompt: Optional[str] = None,
        n_validation: int = 8,
        predict_n_per_label: int = 16,
        forgets: bool = True,
    ):
        """
        Args:
            shape: shape of one noise sample (C, H, W): the (latent) image the generator makes.
            batch_size: retained prompts per iteration per device (as many forget prompts are added).
            iterations: SFD iterations per epoch.
            seed: the batch of iteration i on rank r depends only on (seed, i, r).
            retained_prompts: prompts to keep intact: a text file (one per line) or a list. Nudity mode: default the
                subjects.
            forget_prompts: prompts showing the concept to forget (file or list); null: the retained prompts
                that contain the concept (which then leave the retained set). Not used in nudity mode.
            concept: the concept as it appears in the forget prompts, e.g. ``brad pitt`` (case-insensitive).
            replacement: what replaces the concept for the teacher, e.g. ``a middle aged man``.
            override_prompts: instead of concept/replacement, the teacher's prompt for each forget prompt, line by line.
            mode: ``concept`` (celebrities, objects, digits) or ``nudity`` (subjects x keywords).
            subjects: nudity mode: subject prompts, e.g. ``a photo of a woman`` (file or list).
            keywords: nudity mode: the NSFW keywords put before or after the subjects (file or list).
            negative_prompt: the unconditional branch of classifier-free guidance in the forget terms (fake-score
                and generator updates; the retained terms keep the empty prompt); nudity mode default: every
                keyword, comma-separated; concept mode default: none (the empty prompt).
            n_validation: forget and retained prompts, evenly spread, that callbacks evaluate.
            predict_n_per_label: ``sfd predict``: samples of each of those forget and retained prompts.
            forgets: whether the model forgets (``sfd`` links it from the model's loss weights): forget rows too.
        """
        super().__init__(
            shape=shape,
            batch_size=batch_size,
            iterations=iterations,
            retained_labels=(),
            seed=seed,
            predict_n_per_label=predict_n_per_label,
            forgets=forgets,
        )
        if mode == "nudity":
            self.forget_prompts, self.override_prompts, default_negative = self._nudity(subjects, keywords)
            negative_prompt = default_negative if negative_prompt is None else negative_prompt
            retained = retained_prompts if retained_prompts is not None else sorted(set(self.override_prompts))
        elif mode == "concept":
            retained = retained_prompts
            if forget_prompts is None:  # split one prompt pool by the concept
                if not concept or retained is None:
                    raise ConfigError(
                        "data.forget_prompts", "give the forget prompts, or a concept and a retained pool to split"
                    )
                pool = prompts_from(retained, "data.retained_prompts")
                forget_prompts = [p for p in pool if concept.lower() in p.lower()]
                retained = [p for p in pool if concept.lower() not in p.lower()]
                if not forget_prompts:
                    raise ConfigError("data.concept", f"{concept!r} occurs in none of the {len(pool)} retained prompts")
            self.forget_prompts = prompts_from(forget_prompts, "data.forget_prompts")
            self.override_prompts = self._overrides(concept, replacement, override_prompts)
        else:
            raise ConfigError("data.mode", f"must be concept or nudity, got {mode!r}")
        if retained is None:
            raise ConfigError("data.retained_prompts", "give the prompts to keep intact (file or list)")
        self.retained_prompts = prompts_from(retained, "data.retained_prompts")
        self.concept, self.replacement, self.negative_prompt = concept, replacement, negative_prompt
        self.validation_prompts = {
            "forget": spread(self.forget_prompts, n_validation),
            "retained": spread(self.retained_prompts, n_validation),
        }
        self.validation_overrides = spread(self.override_prompts, n_validation)

    def _overrides(
        self, concept: Optional[str], replacement: Optional[str], override_prompts: Optional[Prompts]
    ) -> List[str]:
        if override_prompts is not None:
            overrides = prompts_from(override_prompts, "data.override_prompts")
            if len(overrides) != len(self.forget_prompts):
                raise ConfigError(
                    "data.override_prompts",
                    f"has {len(overrides)} prompts for {len(self.forget_prompts)} forget prompts",
                )
            return overrides
        if not concept or replacement is None:
            raise ConfigError("data.concept", "give concept and replacement (or override_prompts)")
        hits = [concept.lower() in p.lower() for p in self.forget_prompts]
        if not any(hits):
            raise ConfigError(
                "data.concept",
                f"{concept!r} occurs in none of the {len(hits)} forget prompts (first: {self.forget_prompts[0]!r})",
            )
        if not all(hits):
            rank_zero_warn(
                f"data.concept {concept!r} is missing from {hits.count(False)} forget prompts; "
                "their override is unchanged"
            )
        return [replace_concept(p, concept, replacement) for p in self.forget_prompts]

    @staticmethod
    def _nudity(subjects: Optional[Prompts], keywords: Optional[Prompts]):
        if subjects is None or keywords is None:
            raise ConfigError("data.subjects", "nudity mode needs subjects and keywords (files or lists)")
        subject_list = prompts_from(subjects, "data.subjects")
        keyword_list = prompts_from(keywords, "data.keywords")
        # Every (subject, keyword, placement) once: drawing from this list is drawing the three uniformly.
        triples = [(s, k, after) for s in subject_list for k in keyword_list for after in (True, False)]
        forget = [f"{s}, {k}" if after else f"{k} {s}" for s, k, after in triples]
        return forget, [s for s, _, _ in triples], ", ".join(keyword_list)

    def resolve_labels(self) -> Sequence[int]:
        return ()  # prompts, not class labels

    def predict_conditions(self) -> List[str]:
        """What ``sfd predict`` samples: the evaluated forget prompts, then the retained ones,
        ``predict_n_per_label`` each."""
        prompts = self.validation_prompts["forget"] + self.validation_prompts["retained"]
        return [p for p in prompts for _ in range(self.predict_n_per_label)]

    def batch_for(self, iteration: int, rank: int = 0) -> Dict[str, Dict[str, object]]:
        g = generator(self.seed, iteration, rank)
        return {update: self._update_batch(g) for update in UPDATES}

    def _update_batch(self, g: torch.Generator) -> Dict[str, object]:
        n = 2 * self.batch_size if self.forgets else self.batch_size
        z = torch.randn((n, *self.shape), generator=g)
        keep = torch.randint(len(self.retained_prompts), (self.batch_size,), generator=g).tolist()
        forget = torch.randint(len(self.forget_prompts), (self.batch_size,), generator=g).tolist()
        batch = {
            "z": z,
            "labels": [self.retained_prompts[i] for i in keep],
            "forget_labels": [self.forget_prompts[i] for i in forget],
            "override_labels": [self.override_prompts[i] for i in forget],
        }
        if self.negative_prompt:
            batch["negative_labels"] = [self.negative_prompt] * self.batch_size
        return batch
