"""Discrete variance-preserving noise schedules.

Linear betas follow DDPM (Ho et al., 2020); the cosine schedule follows improved DDPM
(Nichol & Dhariwal, 2021); ``scaled_linear`` (linear in sqrt(beta)) is Stable Diffusion's.
With a_t = sqrt(alpha_bar_t) and b_t = sqrt(1 - alpha_bar_t), x_t = a_t x0 + b_t eps,
i.e. x_t / a_t = x0 + sigma_t eps with sigma_t = b_t / a_t.
"""

import math
from typing import Literal, Optional, Tuple

import torch
from torch import nn

from sfd_lightning.errors import ConfigError


def linear_betas(num_timesteps: int, beta_start: float, beta_end: float) -> torch.Tensor:
    return torch.linspace(beta_start, beta_end, num_timesteps, dtype=torch.float64)


def cosine_betas(num_timesteps: int, offset: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    steps = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps
    alpha_bar = torch.cos((steps + offset) / (1 + offset) * math.pi / 2) ** 2
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)


def timestep_grid(num_timesteps: int, steps: int) -> torch.Tensor:
    """``steps`` evenly spaced timesteps from T-1 down to 0 (DDIM's uniform skip)."""
    return torch.linspace(num_timesteps - 1, 0, steps).round().long()


class VPSchedule(nn.Module):
    """A discrete VP schedule exposing a_t, b_t and sigma_t for t in {0, ..., T-1}."""

    def __init__(
        self,
        kind: Literal["linear", "cosine", "scaled_linear"] = "linear",
        num_timesteps: int = 1000,
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
    ):
        """
        Args:
            kind: ``linear`` (DDPM betas from beta_start to beta_end), ``scaled_linear`` (linear in
                sqrt(beta); Stable Diffusion: 0.00085 to 0.012) or ``cosine``.
            num_timesteps: number of discrete steps T.
            beta_start: first beta of the linear schedule.
            beta_end: last beta of the linear schedule.
        """
        super().__init__()
        if num_timesteps < 2:
            raise ConfigError("schedule.num_timesteps", f"must be >= 2, got {num_timesteps}")
        if kind in ("linear", "scaled_linear"):
            if not 0 < beta_start < beta_end < 1:
                raise ConfigError("schedule.beta_start", "need 0 < beta_start < beta_end < 1")
            if kind == "linear":
                betas = linear_betas(num_timesteps, beta_start, beta_end)
            else:
                betas = linear_betas(num_timesteps, beta_start**0.5, beta_end**0.5) ** 2
        elif kind == "cosine":
            betas = cosine_betas(num_timesteps)
        else:
            raise ConfigError("schedule.kind", f"must be 'linear', 'scaled_linear' or 'cosine', got {kind!r}")
        self.kind = kind
        self.num_timesteps = num_timesteps
        alpha_bar = torch.cumprod(1 - betas, dim=0)
        # Derived values are not weights: keep them out of state dicts.
        self.register_buffer("alpha_bar", alpha_bar.float(), persistent=False)
        self.register_buffer("sigmas", ((1 - alpha_bar) / alpha_bar).sqrt().float(), persistent=False)
        self.register_buffer("log_sigmas", self.sigmas.log(), persistent=False)

    def sampling_sigmas(self, steps: int) -> torch.Tensor:
        """The noise levels of a ``steps``-step DDIM, from the largest down (:func:`timestep_grid`)."""
        return self.sigmas[timestep_grid(self.num_timesteps, steps).to(self.sigmas.device)]

    def sigma_to_t(self, sigma: torch.Tensor) -> torch.Tensor:
        """Continuous timestep for sigma, interpolating log-sigma between grid points."""
        log_sigma = sigma.float().log().clamp(self.log_sigmas[0], self.log_sigmas[-1])
        hi = torch.searchsorted(self.log_sigmas, log_sigma.contiguous()).clamp(1, self.num_timesteps - 1)
        lo = hi - 1
        frac = (log_sigma - self.log_sigmas[lo]) / (self.log_sigmas[hi] - self.log_sigmas[lo])
        return lo.to(sigma.dtype) + frac.clamp(0, 1).to(sigma.dtype)


def training_noise(
    schedule: VPSchedule, x0: torch.Tensor, generator: Optional[torch.Generator] = None
) -> Tuple[torch.Tensor, torch.Tensor]:
    """DDPM's training draw for ``x0`` (B, ...): (sigma (B,) at a timestep uniform over the schedule, noise like x0).
    ``generator`` (CPU) draws both; without it, torch's global RNG on ``x0``'s device (a DiffusionModule's steps)."""
    if generator is None:
        t = torch.randint(0, schedule.num_timesteps, (len(x0),), device=x0.device)
        return schedule.sigmas[t], torch.randn_like(x0)
    t = torch.randint(0, schedule.num_timesteps, (len(x0),), generator=generator).to(x0.device)
    return schedule.sigmas[t], torch.randn(x0.shape, generator=generator).to(x0)
