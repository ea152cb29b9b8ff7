"""DiT (Peebles & Xie, 2023) through diffusers, as an epsilon-prediction network in latent space.

``DiTEps(x_t, t, labels) -> eps_hat``: the transformer's learned-variance channels are sliced off
and label -1 selects DiT's null class (index ``num_classes``) for classifier-free guidance. DiT's
own label dropout is switched off: SFD conditions every call explicitly. Wrap it in
:class:`~sfd_lightning.diffusion.VPDenoiser` with DiT's schedule (linear 1e-4..0.02, T = 1000).
"""
from typing import Any, Dict, Optional

import torch
from torch import nn

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.pretrained import pretrained_or_new


class DiTEps(nn.Module):
    """Class-conditional DiT as ``forward(x_t, t, labels) -> eps_hat`` (latents (B, C, S, S))."""

    def __init__(self, pretrained: Optional[str] = "facebook/DiT-XL-2-256", subfolder: Optional[str] = "transformer",
                 config: Optional[Dict[str, Any]] = None, gradient_checkpointing: bool = False):
        """
        Args:
            pretrained: hub id or local folder of a DiT pipeline or transformer (null: build from ``config``).
            subfolder: the transformer's folder inside ``pretrained`` (null for a bare transformer folder).
            config: ``DiTTransformer2DModel`` arguments for a randomly initialised DiT (tests, new models).
            gradient_checkpointing: recompute transformer blocks in the backward pass (less memory, more time).
        """
        super().__init__()
        from diffusers import DiTTransformer2DModel

        self.transformer = pretrained_or_new(DiTTransformer2DModel, pretrained, subfolder, config, "net.init_args.pretrained")
        cfg = self.transformer.config
        self.in_channels, self.resolution, self.num_classes = cfg.in_channels, cfg.sample_size, cfg.num_embeds_ada_norm
        if self.num_classes is None:
            raise ConfigError("net.init_args", "the DiT is not class-conditional (num_embeds_ada_norm is null)")
        for module in self.transformer.modules():  # LabelEmbedding: no random label dropout in training mode
            if hasattr(module, "dropout_prob") and hasattr(module, "embedding_table"):
                module.dropout_prob = 0.0
        if gradient_checkpointing:
            self.transformer.enable_gradient_checkpointing()

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        if labels is None:
            labels = torch.full((x.shape[0],), -1, device=x.device, dtype=torch.long)
        labels = torch.where(labels < 0, self.num_classes, labels)
        t = t.expand(x.shape[0]) if t.dim() == 0 else t
        out = self.transformer(x, timestep=t, class_labels=labels, return_dict=False)[0]
        return out[:, : self.in_channels]  # (B, C, S, S); the rest is the learned variance
