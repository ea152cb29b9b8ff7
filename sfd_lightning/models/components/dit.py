"""DiT (Peebles & Xie, 2023) through diffusers, as an epsilon-prediction network in latent space.

``DiTEps(x_t, t, labels) -> eps_hat``: the transformer's learned-variance channels are sliced off
and label -1 selects DiT's null class (index ``num_classes``) for classifier-free guidance. DiT's
own label dropout is switched off: SFD conditions every call explicitly. Wrap it in
:class:`~sfd_lightning.diffusion.VPDenoiser` with DiT's schedule (linear 1e-4..0.02, T = 1000).
"""

from typing import Any, Dict, Optional

import torch
from torch import nn

from sfd_lightning.diffusion.conditions import ConditionTokens
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.pretrained import pretrained_or_new
from sfd_lightning.models.components.pipeline_family import PipelineFamily


class DiTEps(nn.Module, PipelineFamily):
    """Class-conditional DiT as ``forward(x_t, t, labels) -> eps_hat`` (latents (B, C, S, S))."""

    noise_kind = "vp"  # the denoiser adapter it takes: VPDenoiser
    pipeline_class = "DiTPipeline"

    def __init__(
        self,
        pretrained: Optional[str] = "facebook/DiT-XL-2-256",
        subfolder: Optional[str] = "transformer",
        config: Optional[Dict[str, Any]] = None,
        gradient_checkpointing: bool = False,
    ):
        """
        Args:
            pretrained: hub id or local folder of a DiT pipeline or transformer (null: build from ``config``).
            subfolder: the transformer's folder inside ``pretrained`` (null for a bare transformer folder).
            config: ``DiTTransformer2DModel`` arguments for a randomly initialised DiT (tests, new models).
            gradient_checkpointing: recompute transformer blocks in the backward pass (less memory, more time).
        """
        super().__init__()
        from diffusers import DiTTransformer2DModel

        self.transformer = pretrained_or_new(
            DiTTransformer2DModel, pretrained, subfolder, config, "net.init_args.pretrained"
        )
        cfg = self.transformer.config
        self.in_channels, self.resolution, self.num_classes = cfg.in_channels, cfg.sample_size, cfg.num_embeds_ada_norm
        if self.num_classes is None:
            raise ConfigError("net.init_args", "the DiT is not class-conditional (num_embeds_ada_norm is null)")
        for module in self.transformer.modules():  # LabelEmbedding: no random label dropout in training mode
            if hasattr(module, "dropout_prob") and hasattr(module, "embedding_table"):
                module.dropout_prob = 0.0
        if gradient_checkpointing:
            self.transformer.enable_gradient_checkpointing()

    def label_tables(self):
        """Every block's class-embedding table (DiT conditions each block's adaptive norm on its own)."""
        return [m.embedding_table for m in self.transformer.modules() if hasattr(m, "embedding_table")]

    def condition_token(self, label: int) -> torch.Tensor:
        """Class ``label``'s rows of every block's table, concatenated (blocks x D,): where an embedding attack
        starts."""
        if not 0 <= label < self.num_classes:
            raise ConfigError("label", f"this DiT has no class {label!r} (num_classes {self.num_classes})")
        return torch.cat([table.weight[label] for table in self.label_tables()]).detach().clone()

    def _with_tokens(self, x: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The transformer with every block's class embedding replaced by its slice of ``tokens`` (B, blocks x D)."""
        tables = self.label_tables()
        parts = tokens.chunk(len(tables), dim=1)
        handles = [
            table.register_forward_hook(lambda module, inputs, output, part=part: part.to(output.dtype))
            for table, part in zip(tables, parts)
        ]
        try:
            labels = torch.zeros(x.shape[0], device=x.device, dtype=torch.long)  # any class: its rows are replaced
            return self.transformer(x, timestep=t, class_labels=labels, return_dict=False)[0][:, : self.in_channels]
        finally:
            for handle in handles:
                handle.remove()

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        if isinstance(labels, ConditionTokens):  # a learned class row in every block
            return self._with_tokens(x, t.expand(x.shape[0]) if t.dim() == 0 else t, labels.tokens)
        if labels is None:
            labels = torch.full((x.shape[0],), -1, device=x.device, dtype=torch.long)
        labels = torch.where(labels < 0, self.num_classes, labels)
        t = t.expand(x.shape[0]) if t.dim() == 0 else t
        out = self.transformer(x, timestep=t, class_labels=labels, return_dict=False)[0]
        return out[:, : self.in_channels]  # (B, C, S, S); the rest is the learned variance
