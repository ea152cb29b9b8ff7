"""What the fine-tuning baselines share beyond :class:`UnlearningModule` (the frozen teacher, the forgotten class,
``sample_images`` and the rest SFD's evaluation callbacks read): a trainable copy of the teacher (the "student")
sampled with the teacher's DDIM sampler.

Class-conditional teachers name the forgotten class (``forget_label``); prompt-conditioned ones (``num_classes:
null``: the digits text model, Stable Diffusion) take their prompts from the method or the data module."""

import copy
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import nn

from sfd_lightning.data.prompts import PromptDataModule
from sfd_lightning.diffusion.conditions import Condition, cat, cycled, take
from sfd_lightning.diffusion.denoiser import Denoiser
from sfd_lightning.diffusion.samplers import sample_ddim
from sfd_lightning.errors import ConfigError
from sfd_lightning.losses.denoising import denoising_loss
from sfd_lightning.models.hparams import adam_or, save_plain_hyperparameters
from sfd_lightning.models.unlearning_module import UnlearningModule, network_classes
from sfd_lightning.override import FixedOverride


@dataclass
class ForgetSets:
    """What to forget and keep, as conditions: the forget label and the retained labels of a class-conditional
    teacher, or a ``PromptDataModule``'s forget prompts (``override[i]`` is ``forget[i]``'s) and retained prompts."""

    forget: Condition
    override: Optional[Condition]
    retained: Condition

    def forget_rows(self, n: int):
        """(forget conditions, their overrides or None) for ``n`` rows going round the forget set."""
        return cycled(self.forget, n), (cycled(self.override, n) if self.override is not None else None)

    def everything(self) -> Condition:
        """Forget and retained conditions together (all classes, for a class-conditional teacher)."""
        return cat(self.forget, self.retained)


class UnlearningBaseline(UnlearningModule):
    """Base class: ``training_step`` is each method's; the rest is shared."""

    def __init__(
        self,
        teacher: Denoiser,
        teacher_ckpt: Optional[str] = None,
        num_classes: Optional[int] = 10,
        forget_label: Optional[int] = 0,
        override_label: Optional[int] = None,
        sample_steps: int = 50,
        sample_guidance: float = 1.0,
        autoencoder: Optional[nn.Module] = None,
        optimizer: Optional[OptimizerCallable] = None,
    ):
        """
        Args:
            teacher: the teacher's denoiser architecture (its weights from ``teacher_ckpt``, or its own pretrained
                weights, e.g. ``SDUNet(pretrained=...)``).
            teacher_ckpt: the teacher's weights: an asset, a DiffusionModule checkpoint or a reference checkpoint.
            num_classes: classes of the class-conditional teacher; null for a prompt-conditioned one.
            forget_label: the class to forget (class-conditional teachers only).
            override_label: what the forgotten class should show instead, where the method has one (reported as
                the override rate); null: none.
            sample_steps: DDIM steps of the fine-tuned model's sampler (evaluation and export).
            sample_guidance: classifier-free guidance scale of that sampler (1: none; Stable Diffusion: 7.5).
            autoencoder: for latent teachers (Stable Diffusion): the frozen autoencoder whose ``decode`` turns the
                sampler's latents into images for the callbacks.
            optimizer: optimiser factory (default Adam lr 1e-4).
        """
        override = FixedOverride(override_label) if override_label is not None else None
        super().__init__(teacher, teacher_ckpt, num_classes, forget_label, override, autoencoder)
        save_plain_hyperparameters(self)
        if sample_steps < 1:
            raise ConfigError("model.sample_steps", f"must be >= 1, got {sample_steps}")
        self.student = copy.deepcopy(self.teacher).train().requires_grad_(True)
        self.sample_steps, self.sample_guidance = sample_steps, sample_guidance
        self.optimizer = adam_or(optimizer, lr=1e-4, betas=(0.9, 0.999))

    def check_classes(self, teacher: Denoiser) -> None:
        """:class:`UnlearningModule`'s checks; a prompt-conditioned teacher (a network whose ``num_classes`` is None)
        also needs ``num_classes: null`` here (a baseline reads its prompts only then)."""
        if self.num_classes is not None and network_classes(teacher, self.num_classes) is None:
            raise ConfigError(
                "model.num_classes",
                "the teacher network is conditioned on prompts: set num_classes: null "
                "and forget_label: null (the data module's prompts name the concept)",
            )
        super().check_classes(teacher)

    @property
    def report_labels(self) -> Dict[str, str]:
        """The report's rows that name SFD's generator, named for this model (``ReportCallback``)."""
        return {
            "fid/generator": f"FID retained classes, fine-tuned {self.sample_steps}-step DDIM",
            "fid/ratio": "FID ratio fine-tuned model / teacher",
        }

    def sample_images(self, noise: torch.Tensor, conditions: Condition) -> torch.Tensor:
        """The fine-tuned model's ``sample_steps``-step DDIM samples, decoded (what the callbacks evaluate)."""
        with self.precision_context():
            x = sample_ddim(self.student, noise, conditions, self.sample_steps, self.sample_guidance).float()
        return self.decode(x)

    def diffusion_loss(
        self, x0: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, denoiser: Optional[Denoiser] = None
    ) -> torch.Tensor:
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

    def forget_sets(self) -> ForgetSets:
        """The forget, override and retained conditions: from the settings (class-conditional teachers) or the
        data module's prompts (prompt-conditioned ones)."""
        if not self.prompt_conditioned:
            override = torch.tensor([self.override.label], device=self.device) if self.override is not None else None
            return ForgetSets(torch.tensor([self.forget_label], device=self.device), override, self.retained_labels())
        data = self.trainer.datamodule
        if not isinstance(data, PromptDataModule):
            raise ConfigError("data", f"{type(self).__name__} on a prompt-conditioned teacher needs a PromptDataModule")
        return ForgetSets(list(data.forget_prompts), list(data.override_prompts), list(data.retained_prompts))

    def teacher_samples(
        self, conditions: Condition, seed: int, shape: Sequence[int], batch_size: int = 250
    ) -> torch.Tensor:
        """The teacher's ``sample_steps``-step DDIM samples (guidance ``sample_guidance``) for ``conditions``, in its
        own space (latents for latent models), noise from ``seed``: generative replay and generated forget sets."""
        noise = torch.randn((len(conditions), *shape), generator=torch.Generator().manual_seed(seed)).to(self.device)
        out = []
        with self.precision_context():  # bf16-mixed runs sample in bf16, as their training steps
            for start in range(0, len(conditions), batch_size):
                rows = torch.arange(start, min(start + batch_size, len(conditions)))
                out.append(
                    sample_ddim(
                        self.teacher,
                        noise[start : start + len(rows)],
                        take(conditions, rows),
                        self.sample_steps,
                        self.sample_guidance,
                    ).float()
                )
        x = torch.cat(out)
        return x.clamp(-1, 1) if self.autoencoder is None else x

    def configure_optimizers(self):
        return self.optimizer([p for p in self.student.parameters() if p.requires_grad])

    def export_state_dict(self) -> Dict[str, torch.Tensor]:
        """The fine-tuned denoiser (``ExportWeightsCallback(kind=denoiser)``: sampled by ``sfd sample --steps``)."""
        return self.student.state_dict()
