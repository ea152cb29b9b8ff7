"""Erased Stable Diffusion's loss (Gandikota et al., 2023, "Erasing concepts from diffusion models", eq. 2 and
sec. 3): the fine-tuned model's prediction for the erased condition c is pulled to the frozen model's
negatively guided prediction, eps*(x_t) - eta * (eps*(x_t, c) - eps*(x_t)), on the model's own samples.

In the sigma form x = x0 + sigma * eps a denoiser's eps is (x - D(x, sigma, c)) / sigma.
"""

import torch

from sfd_lightning.diffusion.conditions import Condition, null_like
from sfd_lightning.diffusion.denoiser import Denoiser


def eps_of(denoiser: Denoiser, x: torch.Tensor, sigma: torch.Tensor, labels: Condition) -> torch.Tensor:
    sigma = torch.as_tensor(sigma, device=x.device, dtype=x.dtype).expand(x.shape[0])
    return (x - denoiser(x, sigma, labels)) / sigma.view(-1, *[1] * (x.dim() - 1))


def esd_target(eps_cond: torch.Tensor, eps_uncond: torch.Tensor, eta: float) -> torch.Tensor:
    """Negative guidance away from the condition: eps_u - eta * (eps_c - eps_u)."""
    return eps_uncond - eta * (eps_cond - eps_uncond)


def esd_loss(
    student: Denoiser, teacher: Denoiser, x: torch.Tensor, sigma: torch.Tensor, labels: Condition, eta: float = 1.0
) -> torch.Tensor:
    """Per-sample ``sum_pixels ||eps_student(x, c) - esd_target||^2``, shape (B,); the target carries no gradient."""
    with torch.no_grad():
        target = esd_target(eps_of(teacher, x, sigma, labels), eps_of(teacher, x, sigma, null_like(labels)), eta)
    return (eps_of(student, x, sigma, labels) - target).square().flatten(1).sum(dim=1)
