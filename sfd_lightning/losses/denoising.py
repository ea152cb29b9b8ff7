"""Denoising score-matching loss, the epsilon loss of DDPM (Ho et al., 2020, eq. 14).

In the sigma form x = x0 + sigma * eps, eps_hat = (x - x0_hat) / sigma, so
||eps - eps_hat||^2 = ||x0_hat - x0||^2 / sigma^2. Used to train the teacher and, on the
generator's detached samples, the fake score (SiD, Zhou et al., 2024, eq. 8).
"""

from typing import Optional

import torch

from sfd_lightning.diffusion.denoiser import Denoiser


def denoising_loss(
    denoiser: Denoiser, x0: torch.Tensor, sigma: torch.Tensor, noise: torch.Tensor, labels: Optional[torch.Tensor]
) -> torch.Tensor:
    """Per-sample ``sum_pixels ||eps - eps_hat||^2``, shape (B,)."""
    sigma_ = sigma.view(-1, *([1] * (x0.dim() - 1)))  # (B, 1, 1, 1)
    x0_hat = denoiser(x0 + sigma_ * noise, sigma, labels)
    return ((x0_hat - x0) / sigma_).square().flatten(1).sum(dim=1)
