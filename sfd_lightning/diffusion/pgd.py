"""Projected gradient ascent on a one-step generator's input noise (Madry et al., 2018): the noise attack
of `sfd attack` and the adversarial forget rows of robust SFD.

For each start z0 ~ N(0, I) in R^d, find z with ||z - z0||_2 <= eps * sqrt(d) that maximises a per-sample
objective (the attack: a surrogate's log-probability of the forgotten class). ``eps`` is in units of the noise's
own per-dimension standard deviation: eps = 1 allows a change as large as z0 itself.
"""

from typing import Callable

import torch

Objective = Callable[[torch.Tensor], torch.Tensor]  # z (B, ...) -> (B,), to maximise


def radius(eps: float, z: torch.Tensor) -> float:
    """The L2 budget eps * sqrt(d) for samples shaped like ``z[0]``."""
    return eps * z[0].numel() ** 0.5


def project(z: torch.Tensor, z0: torch.Tensor, r: float) -> torch.Tensor:
    """Each ``z[i]`` moved onto the ball of radius ``r`` around ``z0[i]`` if it lies outside."""
    delta = z - z0
    norms = delta.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (z.dim() - 1))
    return z0 + delta * (r / norms).clamp(max=1.0)


def random_in_ball(z0: torch.Tensor, r: float, generator: torch.Generator) -> torch.Tensor:
    """Uniform points of the ball of radius ``r`` around each ``z0[i]``."""
    d = z0[0].numel()
    direction = torch.randn(z0.shape, generator=generator).to(z0)
    direction = direction / direction.flatten(1).norm(dim=1).view(-1, *[1] * (z0.dim() - 1))
    scale = torch.rand(z0.shape[0], generator=generator).to(z0) ** (1.0 / d)
    return z0 + r * scale.view(-1, *[1] * (z0.dim() - 1)) * direction


def pgd_l2(
    objective: Objective,
    z0: torch.Tensor,
    eps: float,
    steps: int = 20,
    restarts: int = 2,
    generator: torch.Generator = None,
) -> torch.Tensor:
    """The best z found per sample over ``restarts`` runs of ``steps`` normalised-gradient steps (step size
    2.5 r / steps), the first run from z0 itself, the others from random points of the ball. Every point is
    scored once: the objective runs ``steps + 1`` times a run (z0 is scored by the first run's first step)."""
    r = radius(eps, z0)
    if r == 0 or steps == 0:
        return z0.clone()
    generator = generator or torch.Generator().manual_seed(0)
    best_z, best = z0.clone(), torch.full((z0.shape[0],), float("-inf"), device=z0.device)
    for restart in range(restarts):
        z = z0.clone() if restart == 0 else random_in_ball(z0, r, generator)
        for _ in range(steps):
            z = z.detach().requires_grad_(True)
            value = objective(z)
            keep_better(best_z, best, z.detach(), value.detach())
            (grad,) = torch.autograd.grad(value.sum(), z)
            step = grad / grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (z.dim() - 1))
            z = project(z.detach() + 2.5 * r / steps * step, z0, r)
        with torch.no_grad():
            keep_better(best_z, best, z, objective(z))
    return best_z


def keep_better(best_z: torch.Tensor, best: torch.Tensor, z: torch.Tensor, value: torch.Tensor) -> None:
    """In place: the rows where ``value`` beats ``best`` take ``z`` and ``value``."""
    better = value.to(best.dtype) > best
    best_z[better], best[better] = z[better], value[better].to(best.dtype)
