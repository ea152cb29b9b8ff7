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
from typing import Dict, List, Literal, Optional, Sequence, Tuple, Union

import torch
from lightning.pytorch.utilities import rank_zero_warn

from sfd_lightning.data.concept_list import read_concepts
from sfd_lightning.data.concept_prompts import concept_prompts, draw_forget, spread, validation_forget
from sfd_lightning.data.noise import UPDATES, NoiseLabelDataModule
from sfd_lightning.data.prompt_files import Prompts, prompts_from
from sfd_lightning.data.seeding import generator
from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting.forget_set import Concept
from sfd_lightning.forgetting.lineage import union_concepts

ConceptList = Union[List[Union[Dict[str, str], List[str]]], str, None]


def replace_concept(prompt: str, concept: str, replacement: str) -> str:
    return re.sub(re.escape(concept), replacement, prompt, flags=re.IGNORECASE)


def class_of(prompt: str, class_words: Sequence[str], field: str = "class_words") -> int:
    """The index of the one class word the prompt contains (whole words, case-insensitive)."""
    found = [i for i, w in enumerate(class_words) if re.search(rf"\b{re.escape(w.lower())}\b", prompt.lower())]
    if len(found) != 1:
        raise ConfigError(field, f"prompt {prompt!r} names {len(found)} of the class words, expected exactly one")
    return found[0]


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
        concepts: ConceptList = None,
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
            concepts: several concepts at once, instead of concept/replacement: a list of ``{concept, replacement}``
                mappings or ``[concept, replacement]`` pairs, or a CSV/TSV file with ``concept`` and ``replacement``
                columns. A forget prompt belongs to every concept it names and its override replaces each of them;
                forget rows are shared evenly over the concepts.
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
        if mode not in ("concept", "nudity"):
            raise ConfigError("data.mode", f"must be concept or nudity, got {mode!r}")
        self.mode, self.n_validation, self.negative_prompt = mode, n_validation, negative_prompt
        self._given = (retained_prompts, forget_prompts, override_prompts, subjects, keywords)
        self._several = concepts is not None
        self.request = self._request(concept, replacement, concepts, override_prompts) if mode == "concept" else ()
        if self._several:  # the first concept, for code that knows only one
            concept, replacement = self.request[0].concept, self.request[0].replacement
        self.concept, self.replacement = concept, replacement
        self.build_prompts(())

    @staticmethod
    def _request(
        concept: Optional[str], replacement: Optional[str], concepts: ConceptList, override_prompts: Optional[Prompts]
    ) -> Tuple[Concept, ...]:
        """This run's own concepts: ``concepts`` read and checked, or the singular concept (a list of one)."""
        if concepts is None:
            return (Concept(concept, replacement),) if concept and replacement is not None else ()
        given = [
            f
            for f, v in (("concept", concept), ("replacement", replacement), ("override_prompts", override_prompts))
            if v is not None
        ]
        if given:
            raise ConfigError("data.concepts", f"give either data.concepts or data.{given[0]}, not both")
        return read_concepts(concepts, "data.concepts")

    def build_prompts(self, previous: Sequence[Concept]) -> None:
        """Build the forget, override, retained and validation prompts for the union of ``previous`` (concepts a
        released generator forgot before) and this run's request."""
        retained_prompts, forget_prompts, override_prompts, subjects, keywords = self._given
        if self.mode == "nudity":
            if previous:
                raise ConfigError("data.mode", "nudity mode cannot continue a release that forgot prompt concepts")
            self.forget_set: Tuple[Concept, ...] = ()
            self.forget_prompts, self.override_prompts, default_negative = self._nudity(subjects, keywords)
            self.negative_prompt = default_negative if self.negative_prompt is None else self.negative_prompt
            retained = retained_prompts if retained_prompts is not None else sorted(set(self.override_prompts))
            self.retained_prompts = prompts_from(retained, "data.retained_prompts")
            self.members = [list(range(len(self.forget_prompts)))]
        elif self._several or previous:
            self.forget_set = union_concepts(previous, self.request, "data.concepts")
            self._concept_lists(retained_prompts, forget_prompts, override_prompts)
        else:
            self.forget_set = self.request
            self._single(retained_prompts, forget_prompts, override_prompts)
        self._validation()

    def _single(
        self, retained: Optional[Prompts], forget_prompts: Optional[Prompts], override_prompts: Optional[Prompts]
    ) -> None:
        """One concept (or override prompts), as before lists of concepts: the prompts and checks of those runs."""
        concept, replacement = self.concept, self.replacement
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
        if retained is None:
            raise ConfigError("data.retained_prompts", "give the prompts to keep intact (file or list)")
        self.retained_prompts = prompts_from(retained, "data.retained_prompts")
        self.members = [list(range(len(self.forget_prompts)))]

    def _concept_lists(
        self, retained: Optional[Prompts], forget_prompts: Optional[Prompts], override_prompts: Optional[Prompts]
    ) -> None:
        """Several concepts (or a sequential step's): forget prompts grouped by the concepts they name."""
        if override_prompts is not None:
            raise ConfigError(
                "data.override_prompts",
                "cannot continue a release that forgot concepts; give data.concept and "
                "data.replacement (or data.concepts) instead",
            )
        if retained is None:
            raise ConfigError("data.retained_prompts", "give the prompts to keep intact (file or list)")
        pool = prompts_from(retained, "data.retained_prompts")
        forget = None if forget_prompts is None else prompts_from(forget_prompts, "data.forget_prompts")
        lists = concept_prompts(self.forget_set, pool, forget)
        self.forget_prompts, self.override_prompts = lists.forget, lists.overrides
        self.retained_prompts, self.members = lists.retained, lists.members

    def _validation(self) -> None:
        """The forget prompts (spread evenly over the concepts), their overrides and concepts, and retained prompts
        that callbacks evaluate."""
        pairs = validation_forget(self.members, self.n_validation)
        self.validation_prompts = {
            "forget": [self.forget_prompts[i] for i, _ in pairs],
            "retained": spread(self.retained_prompts, self.n_validation),
        }
        self.validation_overrides = [self.override_prompts[i] for i, _ in pairs]
        concepts = self.forget_set if len(self.forget_set) == len(self.members) else ()
        self.validation_concepts: Dict[str, Concept] = {
            self.forget_prompts[i]: concepts[c] for i, c in pairs if concepts
        }

    def setup(self, stage: Optional[str] = None) -> None:
        """Also forget the concepts the model's release forgot before (a sequential step), with this run's."""
        super().setup(stage)
        module = self.trainer.lightning_module if self.trainer is not None else None
        previous = tuple(getattr(module, "forget_concepts", ()) or ())
        if previous:
            self.build_prompts(previous)

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
        if len(self.members) > 1:
            forget = draw_forget(self.members, self.batch_size, g)
        else:
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
