"""Sampling throughput at the end of training: the one-step generator against the teacher's sampler."""

from typing import Dict

import torch
from lightning.pytorch import LightningModule, Trainer

from sfd_lightning.callbacks.periodic import PeriodicEvalCallback
from sfd_lightning.diffusion.samplers import sample_ddim
from sfd_lightning.metrics.sampling import sample_shape
from sfd_lightning.metrics.throughput import images_per_second
from sfd_lightning.models.sfd_module import SFDModule


class SamplerSpeedCallback(PeriodicEvalCallback):
    """``speed/generator_images_per_s``, ``speed/teacher_images_per_s`` and their ratio, measured on one batch."""

    requires = SFDModule  # times the one-step generator

    def __init__(
        self, batch_size: int = 256, teacher_steps: int = 50, teacher_cfg_scale: float = 1.0, repeats: int = 3
    ):
        """
        Args:
            batch_size: images per timed call, the same for both samplers.
            teacher_steps: steps of the teacher's DDIM sampler.
            teacher_cfg_scale: classifier-free guidance scale of the teacher sampler (1: none).
            repeats: timed calls per sampler; the fastest counts.
        """
        super().__init__(every_n_iterations=0)
        self.batch_size, self.teacher_steps, self.teacher_cfg_scale, self.repeats = (
            batch_size,
            teacher_steps,
            teacher_cfg_scale,
            repeats,
        )

    def evaluate(self, trainer: Trainer, pl_module: LightningModule, final: bool) -> Dict[str, float]:
        g = torch.Generator().manual_seed(0)
        noise = torch.randn((self.batch_size, *sample_shape(trainer)), generator=g).to(pl_module.device)
        labels = torch.arange(self.batch_size, device=pl_module.device) % pl_module.num_classes
        with pl_module.precision_context():  # as the run computes (a LoRA run's bfloat16 base: under bf16-mixed)
            one_step = images_per_second(
                lambda: pl_module.one_step(ema=True)(noise, labels), self.batch_size, self.repeats
            )
            teacher = images_per_second(
                lambda: sample_ddim(pl_module.teacher, noise, labels, self.teacher_steps, self.teacher_cfg_scale),
                self.batch_size,
                self.repeats,
            )
        return {
            "speed/generator_images_per_s": one_step,
            "speed/teacher_images_per_s": teacher,
            "speed/speedup": one_step / teacher,
        }
