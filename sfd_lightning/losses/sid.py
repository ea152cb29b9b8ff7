"""Score identity Distillation generator loss (Zhou et al., ICML 2024, eq. 21 / Alg. 1), with
the forgetting term of Score Forgetting Distillation (Chen, Zhang & Zhou, ICLR 2025, eq. 10).

With x = x_g + sigma * eps, p = teacher x0_hat under ``teacher_labels`` and s = fake-score x0_hat
under ``fake_labels``: loss = sum_pixels (p - s) * ((p - x_g) - alpha * (p - s)) / omega, where
omega = mean_pixels |p - x_g| is a stop-gradient normaliser. The forget term is the same loss
with the fake score conditioned on the forget label and the teacher on the override.
"""

from typing import Callable, Optional, Union

import torch

from sfd_lightning.diffusion.denoiser import Denoiser

# Labels for the teacher, or a function of the fake score's (detached) x0_hat that picks them.
TeacherLabels = Union[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]


def sid_generator_loss(
    teacher: Denoiser,
    fake_score: Denoiser,
    x_g: torch.Tensor,
    sigma: torch.Tensor,
    noise: torch.Tensor,
    teacher_labels: Optional[TeacherLabels],
    fake_labels: Optional[torch.Tensor],
    alpha: float,
    omega_min: float = 1e-5,
) -> torch.Tensor:
    """Per-sample SiD generator loss, shape (B,); gradients flow through both denoisers into x_g."""
    sigma_ = sigma.view(-1, *([1] * (x_g.dim() - 1)))  # (B, 1, 1, 1)
    x = x_g + sigma_ * noise
    fake_x0 = fake_score(x, sigma, fake_labels)
    if callable(teacher_labels):
        teacher_labels = teacher_labels(fake_x0.detach())
    teacher_x0 = teacher(x, sigma, teacher_labels)
    with torch.no_grad():
        omega = (teacher_x0 - x_g).abs().flatten(1).mean(dim=1).clamp(min=omega_min)  # (B,)
    diff = teacher_x0 - fake_x0
    per_pixel = diff * ((teacher_x0 - x_g) - alpha * diff)
    return per_pixel.flatten(1).sum(dim=1) / omega
