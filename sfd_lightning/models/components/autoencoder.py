"""The latent autoencoder of a latent diffusion model (diffusers ``AutoencoderKL``), frozen.

Latent models are distilled in latent space; images are decoded only for metrics and grids.
``decode`` maps scaled latents (as the diffusion model sees them) to images in [-1, 1]. The scaling is the
VAE's: latents = (z - shift_factor) * scaling_factor (SD3 and FLUX shift; SD, SDXL and DiT do not).
"""

from typing import Any, Dict, Optional

import torch
from torch import nn

from sfd_lightning.io.pretrained import pretrained_or_new


class LatentAutoencoder(nn.Module):
    """``encode(images) -> latents`` and ``decode(latents) -> images``, with the latent scaling applied."""

    def __init__(
        self,
        pretrained: Optional[str] = "facebook/DiT-XL-2-256",
        subfolder: Optional[str] = "vae",
        config: Optional[Dict[str, Any]] = None,
        scaling_factor: Optional[float] = None,
        decode_batch_size: int = 32,
    ):
        """
        Args:
            pretrained: hub id or local folder holding the VAE (null: build from ``config``).
            subfolder: the VAE's folder inside ``pretrained``.
            config: ``AutoencoderKL`` arguments for a randomly initialised VAE (tests).
            scaling_factor: latent scale (default: the VAE's config, 0.18215 for the SD/DiT VAE).
            decode_batch_size: latents decoded per call (the decoder is the memory-hungry half).
        """
        super().__init__()
        from diffusers import AutoencoderKL

        self.vae = pretrained_or_new(AutoencoderKL, pretrained, subfolder, config, "autoencoder.init_args.pretrained")
        self.vae.eval().requires_grad_(False)
        self.scaling_factor = float(scaling_factor if scaling_factor is not None else self.vae.config.scaling_factor)
        self.shift_factor = float(getattr(self.vae.config, "shift_factor", None) or 0.0)
        self.decode_batch_size = decode_batch_size

    def train(self, mode: bool = True) -> "LatentAutoencoder":
        super().train(mode)
        self.vae.eval()  # frozen: never in training mode
        return self

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return (self.vae.encode(images).latent_dist.mode() - self.shift_factor) * self.scaling_factor

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1]; differentiable in ``latents`` when they carry gradients (the attacks' samples go through
        the decoder), the frozen VAE's own weights never."""
        dtype = next(self.vae.parameters()).dtype
        parts = [
            self.vae.decode(chunk.to(dtype) / self.scaling_factor + self.shift_factor).sample
            for chunk in latents.split(self.decode_batch_size)
        ]
        return torch.cat(parts).float().clamp(-1, 1)
