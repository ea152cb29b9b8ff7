"""The CLIP score callback (``metrics.clip_score.CLIPScore``) of prompt-conditioned samples, and an optional concept
detector."""

from typing import Dict, List, Optional

import torch
from lightning.pytorch import LightningModule, Trainer

from sfd_lightning.callbacks.periodic import PeriodicEvalCallback
from sfd_lightning.io.asset import load_exported
from sfd_lightning.io.source import Source
from sfd_lightning.metrics.clip_score import CLIPScore
from sfd_lightning.metrics.sampling import prompt_samples
from sfd_lightning.models.frozen import freeze


class CLIPScoreCallback(PeriodicEvalCallback):
    """``clip/forget_vs_concept`` (lower is better), ``clip/forget_vs_override``, ``clip/retained``;
    with a detector, ``forget/detected`` and ``retained/detected`` (shares flagged as the concept)."""

    def __init__(
        self,
        clip_model: str = "openai/clip-vit-large-patch14",
        n_per_prompt: int = 4,
        every_n_iterations: int = 0,
        batch_size: int = 16,
        seed: int = 777,
        detector_ckpt: Optional[str] = None,
        detector_class: int = 1,
    ):
        """
        Args:
            clip_model: hub id or local folder of a transformers CLIP model (with its tokenizer).
            n_per_prompt: samples per validation prompt of the DataModule (split across ranks).
            every_n_iterations: evaluate every this many SFD iterations (0: only at the end).
            batch_size: samples per generator call.
            seed: noise seed, fixed so evaluations are comparable.
            detector_ckpt: optional exported classifier asset that detects the concept (e.g. a celebrity or NSFW
                classifier).
            detector_class: the detector's output index meaning "concept present".
        """
        super().__init__(every_n_iterations)
        self.clip = CLIPScore(clip_model)
        field = "trainer.callbacks.CLIPScoreCallback.detector_ckpt"
        self.detector = freeze(load_exported(Source(detector_ckpt, field), "classifier")) if detector_ckpt else None
        self.detector_class, self.n_per_prompt, self.batch_size, self.seed = (
            detector_class,
            n_per_prompt,
            batch_size,
            seed,
        )

    def _samples(self, trainer: Trainer, pl_module: LightningModule, prompts: List[str], seed: int):
        """This rank's blocks of samples for ``prompts`` (each repeated n_per_prompt), with their start index."""
        return prompt_samples(trainer, pl_module, prompts, self.n_per_prompt, self.batch_size, seed)

    def _score(self, images_and_starts, prompts: List[str], trainer, pl_module) -> float:
        self.clip.reset()
        repeated = [p for p in prompts for _ in range(self.n_per_prompt)]
        for start, images in images_and_starts:
            self.clip.update(images, repeated[start : start + len(images)])
        return float(self.clip.compute())

    def evaluate(self, trainer: Trainer, pl_module: LightningModule, final: bool) -> Dict[str, float]:
        data = self.prompt_data(trainer)
        self.clip.to(pl_module.device)
        forget, retained, overrides = (
            data.validation_prompts["forget"],
            data.validation_prompts["retained"],
            data.validation_overrides,
        )
        forget_samples = list(self._samples(trainer, pl_module, forget, self.seed))
        retained_samples = list(self._samples(trainer, pl_module, retained, self.seed + 1))  # noise of their own
        out = {
            "clip/forget_vs_concept": self._score(forget_samples, forget, trainer, pl_module),
            "clip/forget_vs_override": self._score(forget_samples, overrides, trainer, pl_module),
            "clip/retained": self._score(retained_samples, retained, trainer, pl_module),
        }
        if self.detector is not None:
            self.detector.to(pl_module.device)
            for name, samples in (("forget", forget_samples), ("retained", retained_samples)):
                hits = [(self.detector(images).argmax(1) == self.detector_class).double() for _, images in samples]
                flags = torch.cat(hits) if hits else torch.zeros(0, device=pl_module.device, dtype=torch.float64)
                both = torch.stack(
                    [flags.sum(), torch.tensor(float(len(flags)), device=flags.device, dtype=torch.float64)]
                )
                both = trainer.strategy.reduce(both, reduce_op="sum")
                out[f"{name}/detected"] = float(both[0] / both[1].clamp(min=1))
        return out
