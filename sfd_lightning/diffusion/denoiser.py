"""The one denoiser interface: ``x0_hat = D(x, sigma, labels)`` with ``x = x0 + sigma * eps``.

Every network is used through it (Karras et al., 2022, "Elucidating the design space", sec. 2;
the k-diffusion convention). Adapters convert other parameterisations here and nowhere else.
Label ``-1`` (``NULL_LABEL``) asks for the unconditional prediction used by classifier-free
guidance (Ho & Salimans, 2022).
"""
from typing import Optional

import torch
from torch import nn

from sfd_lightning.diffusion.schedule import VPSchedule

NULL_LABEL = -1


class Denoiser(nn.Module):
    """Base class: ``forward(x, sigma, labels) -> x0_hat``, all in the sigma currency."""

    schedule: VPSchedule

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        raise NotImplementedError


class EpsDenoiser(Denoiser):
    """Wraps a discrete-time epsilon-prediction network ``net(x_t, t, labels) -> eps_hat``.

    x_t = a_t x0 + b_t eps = a_t x, so the network sees ``x * a_t`` at the (continuous) timestep
    matching sigma, and x0_hat = x - sigma * eps_hat.
    """

    def __init__(self, net: nn.Module, schedule: Optional[VPSchedule] = None):
        """
        Args:
            net: epsilon-prediction network called as ``net(x_t, t, labels)``.
            schedule: the discrete VP schedule the network was trained with (default: linear, T=1000).
        """
        super().__init__()
        self.net = net
        self.schedule = schedule if schedule is not None else VPSchedule()

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        sigma = torch.as_tensor(sigma, device=x.device, dtype=x.dtype).expand(x.shape[0])  # (B,)
        t = self.schedule.sigma_to_t(sigma)
        sigma_ = sigma.view(-1, *([1] * (x.dim() - 1)))  # (B, 1, 1, 1)
        c_in = (1 + sigma_**2).rsqrt()
        eps_hat = self.net(x * c_in, t, labels)
        return x - sigma_ * eps_hat


def guided(denoiser: Denoiser, x: torch.Tensor, sigma: torch.Tensor, labels: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance in x0 space: D_u + scale * (D_c - D_u); scale 1 is no guidance."""
    if scale == 1.0:
        return denoiser(x, sigma, labels)
    sigma = torch.as_tensor(sigma, device=x.device, dtype=x.dtype).expand(x.shape[0])
    null = torch.full_like(labels, NULL_LABEL)
    both = denoiser(torch.cat([x, x]), torch.cat([sigma, sigma]), torch.cat([labels, null]))
    cond, uncond = both.chunk(2)
    return uncond + scale * (cond - uncond)
