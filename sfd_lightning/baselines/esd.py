"""ESD (Gandikota et al., 2023), adapted to class conditioning: data-free fine-tuning of a copy of the teacher so
that its prediction for the forgotten class follows negative guidance away from it (``losses.esd``), on noisy
samples the fine-tuned model draws itself (DDIM from pure noise, stopped at a random level, as ESD does).
Run with ``NoiseLabelDataModule``: the batches only pace the steps and seed the noise."""
from typing import Any, Dict, Optional

import torch

from sfd_lightning.baselines.base import UnlearningBaseline
from sfd_lightning.diffusion.samplers import ddim, ddim_sigmas
from sfd_lightning.errors import ConfigError
from sfd_lightning.losses.esd import esd_loss


class ESDModule(UnlearningBaseline):
    """``loss = ||eps_theta(x_k, c_f) - (eps*(x_k) - eta (eps*(x_k, c_f) - eps*(x_k)))||^2`` at a random DDIM level k."""

    def __init__(self, *args: Any, eta: float = 1.0, ddim_steps: int = 50, batch_size: Optional[int] = None, **kwargs: Any):
        """
        Args:
            eta: negative guidance scale (ESD's default 1.0).
            ddim_steps: the DDIM grid the training samples are drawn on (ESD: 50, stopped at a uniform level).
            batch_size: noisy samples per step (default: the data module's batch).
            *args, **kwargs: :class:`UnlearningBaseline`'s (teacher, teacher_ckpt, num_classes, forget_label, ...).
        """
        super().__init__(*args, **kwargs)
        if ddim_steps < 1:
            raise ConfigError("model.ddim_steps", f"must be >= 1, got {ddim_steps}")
        self.eta, self.ddim_steps, self.batch_size = eta, ddim_steps, batch_size

    def noisy_samples(self, z: torch.Tensor, labels: torch.Tensor, generator: torch.Generator):
        """(x_k, sigma_k): the fine-tuned model's own DDIM sample stopped at a random level k (no gradient)."""
        k = int(torch.randint(self.ddim_steps, (1,), generator=generator))
        with torch.no_grad():
            x = ddim(self.student, z, labels, self.ddim_steps, stop_at=k)
        return x, ddim_sigmas(self.student, self.ddim_steps, z.device)[k]

    def training_step(self, batch: Dict[str, Dict[str, torch.Tensor]], batch_idx: int) -> torch.Tensor:
        z = batch["generator"]["z"]
        z = z[: self.batch_size or len(batch["generator"]["labels"])]
        labels = torch.full((len(z),), self.forget_label, device=z.device)
        g = torch.Generator().manual_seed(int(self.global_step))
        x, sigma = self.noisy_samples(z, labels, g)
        loss = esd_loss(self.student, self.teacher, x, sigma, labels, self.eta).mean()
        self.log("loss/esd", loss, prog_bar=True, batch_size=len(z))
        return loss
