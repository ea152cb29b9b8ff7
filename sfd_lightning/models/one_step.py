"""SFD's one-step generator: x_g = G_theta(sigma_init * z, sigma_init, c) for pure noise z ~ N(0, I)
(SiD, Zhou et al., 2024; SFD, Chen, Zhang & Zhou, ICLR 2025)."""

from typing import Optional

import torch
from torch import nn

from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.diffusion.denoiser import Denoiser


class OneStepGenerator(nn.Module):
    """A denoiser (initialised from the teacher) applied once to scaled pure noise; ``forward(z, labels) -> x_g``.

    It holds the denoiser without copying it, so SFDModule, DDP, ``sfd sample`` and the callbacks wrap
    the same weights; its own state dict is the denoiser's under ``denoiser.``.
    """

    def __init__(self, denoiser: Denoiser, t_init: int):
        super().__init__()
        self.denoiser, self.t_init = denoiser, t_init

    @property
    def sigma_init(self) -> torch.Tensor:
        return self.denoiser.schedule.sigmas[self.t_init]

    def forward(self, z: torch.Tensor, labels: Optional[Condition] = None) -> torch.Tensor:
        sigma = self.sigma_init
        return self.denoiser(sigma * z, sigma, labels)
