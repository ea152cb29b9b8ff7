"""``MultiStepPipeline``: a multi-step model (a teacher, a baseline's fine-tuned copy of it, a retrained model) drawn
by DDIM (Song et al., 2021; on a flow model, its Euler sampler) over ``steps`` network evaluations."""

from typing import Any, Dict, Optional

import torch
from torch import nn

from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.diffusion.denoiser import Denoiser
from sfd_lightning.diffusion.samplers import ddim, sample_ddim
from sfd_lightning.io.source import Source
from sfd_lightning.models.frozen import freeze
from sfd_lightning.pipelines.base import Decode, Pipeline


class MultiStepPipeline(Pipeline):
    """``steps``-step DDIM of ``denoiser`` (frozen at construction), decoded for latent models. ``what`` it is heads
    its description ("teacher", "ESDModule", ...); ``generate`` takes no guidance (the SFD runs' teacher scale is 1),
    ``draw`` takes the classifier-free guidance scale."""

    guided = True

    def __init__(
        self,
        denoiser: Denoiser,
        steps: int,
        decode: Optional[Decode] = None,
        encode: Optional[Decode] = None,
        name: str = "teacher",
        what: str = "teacher",
        meta: Optional[Dict[str, Any]] = None,
        source: Optional[Source] = None,
        autoencoder: Optional[nn.Module] = None,
    ):
        self._denoiser, self.steps, self.what = freeze(denoiser), steps, what
        super().__init__(denoiser.net, decode, encode, meta, source, autoencoder)
        self.name, self.description, self.nfe = name, f"{what}, {steps}-step DDIM", steps

    @property
    def denoiser(self) -> Denoiser:
        """The model's denoiser: its denoising loss (the relearning attack's)."""
        return self._denoiser

    def generate(self, z: torch.Tensor, c: Condition) -> torch.Tensor:
        return self.decode(ddim(self._denoiser, z, c, self.steps))

    @torch.no_grad()
    def draw(self, z: torch.Tensor, c: Condition, guidance: float = 1.0, clamp: bool = True) -> torch.Tensor:
        images = self.decode(sample_ddim(self._denoiser, z, c, self.steps, guidance))
        return images.clamp(-1, 1) if clamp else images
