"""What the fine-tuning baselines share: the frozen teacher, a trainable copy of it (the "student") sampled with
the teacher's DDIM sampler, and the attributes SFD's evaluation callbacks read (``num_classes``,
``forget_label``, ``override``, ``teacher``, ``iteration``, ``sample_images``)."""
import copy
from typing import Dict, Optional

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import OptimizerCallable

from sfd_lightning.diffusion.denoiser import Denoiser
from sfd_lightning.diffusion.samplers import sample_ddim
from sfd_lightning.errors import ConfigError
from sfd_lightning.losses.denoising import denoising_loss
from sfd_lightning.models.frozen import freeze
from sfd_lightning.models.hparams import save_plain_hyperparameters
from sfd_lightning.models.optim import adam_or
from sfd_lightning.models.sfd_networks import load_teacher_weights
from sfd_lightning.override import FixedOverride


class UnlearningBaseline(LightningModule):
    """Base class: ``training_step`` is each method's; the rest is shared."""

    def __init__(self, teacher: Denoiser, teacher_ckpt: Optional[str] = None, num_classes: int = 10, forget_label: int = 0,
                 override_label: Optional[int] = None, sample_steps: int = 50, optimizer: Optional[OptimizerCallable] = None):
        """
        Args:
            teacher: the teacher's denoiser architecture (its weights from ``teacher_ckpt``).
            teacher_ckpt: the teacher's weights: an asset, a DiffusionModule checkpoint or a reference checkpoint.
            num_classes: classes of the class-conditional teacher.
            forget_label: the class to forget.
            override_label: what the forgotten class should show instead, where the method has one (reported as
                the override rate); null: none.
            sample_steps: DDIM steps of the fine-tuned model's sampler (evaluation and export).
            optimizer: optimiser factory (default Adam lr 1e-4).
        """
        super().__init__()
        save_plain_hyperparameters(self)
        if not 0 <= forget_label < num_classes:
            raise ConfigError("model.forget_label", f"must be in [0, {num_classes - 1}], got {forget_label}")
        if sample_steps < 1:
            raise ConfigError("model.sample_steps", f"must be >= 1, got {sample_steps}")
        if teacher_ckpt:
            load_teacher_weights(teacher, teacher_ckpt)
        self.student = copy.deepcopy(teacher).requires_grad_(True)
        self.teacher = freeze(teacher)
        self.num_classes, self.forget_label, self.sample_steps = num_classes, forget_label, sample_steps
        self.override = FixedOverride(override_label) if override_label is not None else None
        if self.override is not None:
            self.override.validate(forget_label, num_classes)
        self.optimizer = adam_or(optimizer, lr=1e-4, betas=(0.9, 0.999))

    @property
    def iteration(self) -> int:
        """Optimiser steps so far: the x axis of every evaluation and log."""
        return self.global_step

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def sample_images(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The fine-tuned model's ``sample_steps``-step DDIM samples (what the callbacks evaluate)."""
        return sample_ddim(self.student, noise, labels, self.sample_steps)

    def diffusion_loss(self, x0: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
                       denoiser: Optional[Denoiser] = None) -> torch.Tensor:
        """The DDPM loss of ``denoiser`` (default: the student) at uniform timesteps, noise from ``generator``, mean
        over the rows (0 for none)."""
        if len(x0) == 0:
            return x0.new_zeros(())
        denoiser = denoiser if denoiser is not None else self.student
        sigmas = denoiser.schedule.sigmas
        t = torch.randint(len(sigmas), (len(x0),), generator=generator).to(x0.device)
        return denoising_loss(denoiser, x0, sigmas[t], torch.randn(x0.shape, generator=generator).to(x0), labels).mean()

    def retained_labels(self) -> torch.Tensor:
        return torch.tensor([c for c in range(self.num_classes) if c != self.forget_label], device=self.device)

    def configure_optimizers(self):
        return self.optimizer(self.student.parameters())

    def export_state_dict(self) -> Dict[str, torch.Tensor]:
        """The fine-tuned denoiser (``ExportWeightsCallback(kind=denoiser)``: sampled by ``sfd sample --steps``)."""
        return self.student.state_dict()

    def export_config(self):
        return self.hparams.get("teacher")
