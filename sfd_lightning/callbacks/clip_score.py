"""CLIP score (Hessel et al., 2021) of prompt-conditioned samples, and an optional concept detector.

``100 * max(cos(image embedding, text embedding), 0)`` with a CLIP model from transformers. We
compute it here instead of with torchmetrics' ``CLIPScore``, which breaks with transformers >= 5
(torchmetrics issue #3407): the image and text towers and their projections are called directly,
which every transformers version since 4.x supports.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule, Trainer
from torchmetrics import Metric

from sfd_lightning.callbacks.periodic import PeriodicEvalCallback
from sfd_lightning.callbacks.sampling import generator_sampler, sample_shape
from sfd_lightning.data.sample_blocks import rank_blocks
from sfd_lightning.errors import ConfigError
from sfd_lightning.finite import check_count, count_nonfinite
from sfd_lightning.io.asset import load_exported
from sfd_lightning.models.frozen import freeze

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class CLIPScore(Metric):
    """Mean CLIP score of (image, prompt) pairs; images in [-1, 1]. Sums reduce across DDP ranks."""

    full_state_update = False

    def __init__(self, model_name_or_path: str = "openai/clip-vit-large-patch14"):
        super().__init__()
        from transformers import CLIPModel, CLIPTokenizer

        from sfd_lightning.models.components.pretrained import load_pretrained

        self.model = freeze(load_pretrained(CLIPModel, model_name_or_path, None, "clip_model"))
        self.tokenizer = load_pretrained(CLIPTokenizer, model_name_or_path, None, "clip_model")
        self.image_size = self.model.config.vision_config.image_size
        self.add_state("total", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("nonfinite", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    @torch.no_grad()
    def scores(self, images: torch.Tensor, prompts: Sequence[str]) -> torch.Tensor:
        """Per-pair scores (B,) of finite images."""
        x = F.interpolate((images.float().clamp(-1, 1) + 1) / 2, size=(self.image_size, self.image_size), mode="bicubic",
                          align_corners=False, antialias=True)
        mean = torch.tensor(CLIP_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(CLIP_STD, device=x.device).view(1, 3, 1, 1)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        pooled = self.model.vision_model(pixel_values=(x - mean) / std).pooler_output
        image_emb = self.model.visual_projection(pooled)
        tokens = self.tokenizer(list(prompts), padding=True, truncation=True, return_tensors="pt").to(x.device)
        text_pooled = self.model.text_model(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask).pooler_output
        text_emb = self.model.text_projection(text_pooled)
        return 100 * F.cosine_similarity(image_emb, text_emb, dim=-1).clamp(min=0)

    def update(self, images: torch.Tensor, prompts: Sequence[str]) -> None:
        """Scores of the finite images; images with NaN/inf pixels are counted apart and make ``compute`` refuse (on
        every rank alike)."""
        finite = torch.isfinite(images.reshape(len(images), -1)).all(dim=1)
        self.nonfinite += float(count_nonfinite(images))
        if finite.any():
            s = self.scores(images[finite], [p for p, keep in zip(prompts, finite.tolist()) if keep])
            self.total += s.double().sum()
            self.count += len(s)

    def compute(self) -> torch.Tensor:
        check_count(int(self.nonfinite), int(self.count + self.nonfinite), "trainer.callbacks.CLIPScoreCallback",
                    "generated images")
        return self.total / self.count.clamp(min=1)


class CLIPScoreCallback(PeriodicEvalCallback):
    """``clip/forget_vs_concept`` (lower is better), ``clip/forget_vs_override``, ``clip/retained``;
    with a detector, ``forget/detected`` and ``retained/detected`` (shares flagged as the concept)."""

    def __init__(self, clip_model: str = "openai/clip-vit-large-patch14", n_per_prompt: int = 4,
                 every_n_iterations: int = 0, batch_size: int = 16, seed: int = 777,
                 detector_ckpt: Optional[str] = None, detector_class: int = 1):
        """
        Args:
            clip_model: hub id or local folder of a transformers CLIP model (with its tokenizer).
            n_per_prompt: samples per validation prompt of the DataModule (split across ranks).
            every_n_iterations: evaluate every this many SFD iterations (0: only at the end).
            batch_size: samples per generator call.
            seed: noise seed, fixed so evaluations are comparable.
            detector_ckpt: optional exported classifier asset that detects the concept (e.g. a celebrity or NSFW classifier).
            detector_class: the detector's output index meaning "concept present".
        """
        super().__init__(every_n_iterations)
        self.clip = CLIPScore(clip_model)
        field = "trainer.callbacks.CLIPScoreCallback.detector_ckpt"
        self.detector = freeze(load_exported(detector_ckpt, field, "classifier")) if detector_ckpt else None
        self.detector_class, self.n_per_prompt, self.batch_size, self.seed = detector_class, n_per_prompt, batch_size, seed

    def _samples(self, trainer: Trainer, pl_module: LightningModule, prompts: List[str], seed: int):
        """This rank's blocks of samples for ``prompts`` (each repeated n_per_prompt), with their start index."""
        chosen = [p for p in prompts for _ in range(self.n_per_prompt)]
        sample = generator_sampler(pl_module)
        for start, noise, block in rank_blocks(chosen, sample_shape(trainer), self.batch_size, seed,
                                               trainer.global_rank, trainer.world_size):
            yield start, sample(noise.to(pl_module.device), block)

    def _score(self, images_and_starts, prompts: List[str], trainer, pl_module) -> float:
        self.clip.reset()
        repeated = [p for p in prompts for _ in range(self.n_per_prompt)]
        for start, images in images_and_starts:
            self.clip.update(images, repeated[start:start + len(images)])
        return float(self.clip.compute())

    def evaluate(self, trainer: Trainer, pl_module: LightningModule, final: bool) -> Dict[str, float]:
        data = trainer.datamodule
        if not hasattr(data, "validation_prompts"):
            raise ConfigError("trainer.callbacks", "CLIPScoreCallback needs a PromptDataModule")
        self.clip.to(pl_module.device)
        forget, retained, overrides = data.validation_prompts["forget"], data.validation_prompts["retained"], data.validation_overrides
        forget_samples = list(self._samples(trainer, pl_module, forget, self.seed))
        retained_samples = list(self._samples(trainer, pl_module, retained, self.seed + 1))  # noise of their own
        out = {"clip/forget_vs_concept": self._score(forget_samples, forget, trainer, pl_module),
               "clip/forget_vs_override": self._score(forget_samples, overrides, trainer, pl_module),
               "clip/retained": self._score(retained_samples, retained, trainer, pl_module)}
        if self.detector is not None:
            self.detector.to(pl_module.device)
            for name, samples in (("forget", forget_samples), ("retained", retained_samples)):
                hits = [(self.detector(images).argmax(1) == self.detector_class).double() for _, images in samples]
                flags = torch.cat(hits) if hits else torch.zeros(0, device=pl_module.device, dtype=torch.float64)
                both = torch.stack([flags.sum(), torch.tensor(float(len(flags)), device=flags.device, dtype=torch.float64)])
                both = trainer.strategy.reduce(both, reduce_op="sum")
                out[f"{name}/detected"] = float(both[0] / both[1].clamp(min=1))
        return out
