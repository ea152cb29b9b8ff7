"""Prompt batches for text-to-image SFD: noise, retained prompts, forget prompts and their overrides.

Like :class:`NoiseLabelDataModule`, the batch of an iteration is a function of (seed, iteration,
rank). The override of a forget prompt is the prompt with the concept replaced (case-insensitive),
or the prompt given at the same line of ``override_prompts``. In ``nudity`` mode the forget prompts
are every subject joined with every keyword and their overrides are the bare subjects (give the
keywords as the teacher adapter's negative prompt too).
"""
import re
from typing import Dict, List, Literal, Optional, Sequence

import torch
from lightning.pytorch.utilities import rank_zero_warn

from sfd_lightning.data.noise import NoiseLabelDataModule
from sfd_lightning.data.prompt_files import Prompts, prompts_from
from sfd_lightning.errors import ConfigError
from sfd_lightning.seeding import generator


def replace_concept(prompt: str, concept: str, replacement: str) -> str:
    return re.sub(re.escape(concept), replacement, prompt, flags=re.IGNORECASE)


def spread(prompts: Sequence[str], n: int) -> List[str]:
    """``n`` prompts spread evenly over the list (all of them if there are fewer): deterministic validation prompts."""
    if len(prompts) <= n:
        return list(prompts)
    return [prompts[int(i * len(prompts) / n)] for i in range(n)]


class PromptDataModule(NoiseLabelDataModule):
    """Batches ``{"z", "labels": retained prompts, "forget_labels", "override_labels"}``; B of each per device."""

    def __init__(self, shape: Sequence[int] = (4, 64, 64), batch_size: int = 1, iterations: int = 1000, seed: int = 0,
                 retained_prompts: Optional[Prompts] = None, forget_prompts: Optional[Prompts] = None,
                 concept: Optional[str] = None, replacement: Optional[str] = None, override_prompts: Optional[Prompts] = None,
                 mode: Literal["concept", "nudity"] = "concept", subjects: Optional[Prompts] = None,
                 keywords: Optional[Prompts] = None, n_validation: int = 8):
        """
        Args:
            shape: shape of one noise sample (C, H, W): the (latent) image the generator makes.
            batch_size: retained prompts per iteration per device (as many forget prompts are added).
            iterations: SFD iterations per epoch.
            seed: the batch of iteration i on rank r depends only on (seed, i, r).
            retained_prompts: prompts to keep intact: a text file (one per line) or a list. Nudity mode: default the subjects.
            forget_prompts: prompts showing the concept to forget (file or list); null: the retained prompts
                that contain the concept (which then leave the retained set). Not used in nudity mode.
            concept: the concept as it appears in the forget prompts, e.g. ``brad pitt`` (case-insensitive).
            replacement: what replaces the concept for the teacher, e.g. ``a middle aged man``.
            override_prompts: instead of concept/replacement, the teacher's prompt for each forget prompt, line by line.
            mode: ``concept`` (celebrities, objects, digits) or ``nudity`` (subjects x keywords).
            subjects: nudity mode: subject prompts, e.g. ``a photo of a woman`` (file or list).
            keywords: nudity mode: the NSFW keywords appended to the subjects (file or list).
            n_validation: forget and retained prompts, evenly spread, that callbacks evaluate.
        """
        super().__init__(shape=shape, batch_size=batch_size, iterations=iterations, retained_labels=(), seed=seed)
        if mode == "nudity":
            self.forget_prompts, self.override_prompts = self._nudity(subjects, keywords)
            retained = retained_prompts if retained_prompts is not None else sorted(set(self.override_prompts))
        elif mode == "concept":
            retained = retained_prompts
            if forget_prompts is None:  # split one prompt pool by the concept
                if not concept or retained is None:
                    raise ConfigError("data.forget_prompts", "give the forget prompts, or a concept and a retained pool to split")
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
        self.concept, self.replacement = concept, replacement
        self.validation_prompts = {"forget": spread(self.forget_prompts, n_validation),
                                   "retained": spread(self.retained_prompts, n_validation)}
        self.validation_overrides = spread(self.override_prompts, n_validation)

    def _overrides(self, concept: Optional[str], replacement: Optional[str], override_prompts: Optional[Prompts]) -> List[str]:
        if override_prompts is not None:
            overrides = prompts_from(override_prompts, "data.override_prompts")
            if len(overrides) != len(self.forget_prompts):
                raise ConfigError("data.override_prompts", f"has {len(overrides)} prompts for {len(self.forget_prompts)} forget prompts")
            return overrides
        if not concept or replacement is None:
            raise ConfigError("data.concept", "give concept and replacement (or override_prompts)")
        hits = [concept.lower() in p.lower() for p in self.forget_prompts]
        if not any(hits):
            raise ConfigError("data.concept", f"{concept!r} occurs in none of the {len(hits)} forget prompts "
                              f"(first: {self.forget_prompts[0]!r})")
        if not all(hits):
            rank_zero_warn(f"data.concept {concept!r} is missing from {hits.count(False)} forget prompts; their override is unchanged")
        return [replace_concept(p, concept, replacement) for p in self.forget_prompts]

    @staticmethod
    def _nudity(subjects: Optional[Prompts], keywords: Optional[Prompts]):
        if subjects is None or keywords is None:
            raise ConfigError("data.subjects", "nudity mode needs subjects and keywords (files or lists)")
        subject_list = prompts_from(subjects, "data.subjects")
        keyword_list = prompts_from(keywords, "data.keywords")
        pairs = [(s, k) for s in subject_list for k in keyword_list]
        return [f"{s}, {k}" for s, k in pairs], [s for s, _ in pairs]

    def resolve_labels(self) -> Sequence[int]:
        return ()  # prompts, not class labels

    def batch_for(self, iteration: int, rank: int = 0) -> Dict[str, object]:
        g = generator(self.seed, iteration, rank)
        z = torch.randn((self.batch_size, *self.shape), generator=g)
        keep = torch.randint(len(self.retained_prompts), (self.batch_size,), generator=g).tolist()
        forget = torch.randint(len(self.forget_prompts), (self.batch_size,), generator=g).tolist()
        return {"z": z, "labels": [self.retained_prompts[i] for i in keep],
                "forget_labels": [self.forget_prompts[i] for i in forget],
                "override_labels": [self.override_prompts[i] for i in forget]}
