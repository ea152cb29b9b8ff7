"""Multi-step samplers for a denoiser, as pure functions with one signature.

``sample_*(denoiser, noise, labels, steps, cfg_scale) -> x0`` where ``noise`` is N(0, I) and the
result is in data space. They step on the denoiser's own discrete schedule.
"""

from typing import Optional

import torch

from sfd_lightning.diffusion.denoiser import Denoiser, guided


@torch.no_grad()
def sample_ddim(
    denoiser: Denoiser,
    noise: torch.Tensor,
    labels: torch.Tensor,
    steps: int = 50,
    cfg_scale: float = 1.0,
    eta: float = 0.0,
) -> torch.Tensor:
    """DDIM sampler (Song et al., 2021, "Denoising Diffusion Implicit Models"); eta=1 is ancestral-like. On a flow
    model, eta 0 is its scheduler's Euler sampler: x_t + (t' - t) v_hat = (1 - t') x0_hat + t' eps_hat."""
    return ddim(denoiser, noise, labels, steps, cfg_scale, eta)


def ddim_sigmas(denoiser: Denoiser, steps: int, device=None) -> torch.Tensor:
    """The noise levels of a ``steps``-step DDIM, from the largest down: the schedule's own sampling grid (a
    VP model's uniform timestep skip; a flow model's Euler grid, where DDIM with eta 0 is the Euler step on the
    flow)."""
    return denoiser.schedule.sampling_sigmas(steps).to(device)


def ddim(
    denoiser: Denoiser,
    noise: torch.Tensor,
    labels: torch.Tensor,
    steps: int = 50,
    cfg_scale: float = 1.0,
    eta: float = 0.0,
    stop_at: Optional[int] = None,
) -> torch.Tensor:
    """:func:`sample_ddim` with gradients (to the noise, or a learned condition): the attacks' teacher sampler.
    ``stop_at`` = k returns the noisy sample at level ``ddim_sigmas(...)[k]`` instead (ESD's partial sampling)."""
    sigmas = ddim_sigmas(denoiser, steps, noise.device)
    x = noise * sigmas[0]
    for i in range(steps):
        if i == stop_at:
            return x
        sigma = sigmas[i]
        x0_hat = guided(denoiser, x, sigma, labels, cfg_scale)
        if i == steps - 1:
            return x0_hat
        sigma_next = sigmas[i + 1]
        # In the sigma form, DDIM with eta re-noises to sigma_next with a fresh-noise share.
        a, a_next = (1 + sigma**2).rsqrt(), (1 + sigma_next**2).rsqrt()
        var_vp = eta**2 * (1 - a_next**2) / (1 - a**2) * (1 - a**2 / a_next**2)
        sigma_up = (var_vp.clamp(min=0)).sqrt() / a_next
        sigma_down = (sigma_next**2 - sigma_up**2).clamp(min=0).sqrt()
        eps_hat = (x - x0_hat) / sigma
        x = x0_hat + sigma_down * eps_hat + sigma_up * torch.randn_like(x)
    return x
