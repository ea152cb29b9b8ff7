"""Stable Diffusion 3 / 3.5's MMDiT (Esser et al., 2024) with its CLIP-L, CLIP-G and T5 text encoders, as one network.

``SD3Transformer(x_t, t, prompts) -> v_hat`` on (B, 16, S, S) latents, with the flow time t in (0, 1): a
rectified-flow velocity predictor (wrap it in :class:`~sfd_lightning.diffusion.FlowDenoiser` with shift 3).
The token embeddings are both CLIPs' penultimate layers side by side, padded to T5's width, then T5's; the
pooled projection is both CLIPs' pooled embeddings, as the pipeline makes them. Guidance is
classifier-free, as in SD: the null condition is ``negative_prompt`` encoded.
"""

from functools import partial
from typing import Any, Dict, Optional

import torch

from sfd_lightning.models.components.pipeline_network import PipelineNetwork
from sfd_lightning.models.components.pipeline_text import encode_sd3


class SD3Transformer(PipelineNetwork):
    """SD3's transformer: ``forward(x_t, t, prompts) -> v_hat``."""

    noise_kind = "flow"  # the denoiser adapter it takes: FlowDenoiser

    pipeline_class, network, network_class = "StableDiffusion3Pipeline", "transformer", "SD3Transformer2DModel"
    text_parts = ("text_encoder", "text_encoder_2", "text_encoder_3", "tokenizer", "tokenizer_2", "tokenizer_3")

    def __init__(
        self,
        pretrained: str = "stabilityai/stable-diffusion-3-medium-diffusers",
        negative_prompt: str = "",
        network_config: Optional[Dict[str, Any]] = None,
        gradient_checkpointing: bool = False,
        cache_size: int = 4096,
        text_encoder_dtype: str = "float32",
        max_sequence_length: int = 256,
    ):
        """
        Args:
            pretrained: hub id or local folder of an SD3 pipeline (transformer/, text_encoder/ to text_encoder_3/,
                tokenizer/ to tokenizer_3/).
            negative_prompt: what the null condition (CFG's unconditional branch) encodes.
            network_config: ``SD3Transformer2DModel`` arguments for a randomly initialised transformer (tests,
                memory benchmarks) instead of loading one; the text side is still read from ``pretrained``.
            gradient_checkpointing: recompute transformer blocks in the backward pass (less memory, more time).
            cache_size: prompt embeddings kept.
            text_encoder_dtype: the frozen text encoders' dtype: float32, bfloat16 or float16 (T5-XXL: 19 GB in
                float32).
            max_sequence_length: T5 tokens per prompt (the pipeline's default, 256).
        """
        super().__init__(
            pretrained,
            network_config,
            partial(encode_sd3, max_sequence_length=max_sequence_length),
            negative_prompt,
            gradient_checkpointing,
            cache_size,
            text_encoder_dtype,
        )
        cfg = self.transformer.config
        self.in_channels, self.resolution = cfg.in_channels, cfg.sample_size

    def forward(self, x: torch.Tensor, t: torch.Tensor, prompts) -> torch.Tensor:
        embeds, pooled = self.embeddings(prompts, x)
        t = t.expand(x.shape[0]) if t.dim() == 0 else t
        # the pipeline's timestep is its scheduler's: the flow time x 1000
        return self.transformer(
            hidden_states=x,
            encoder_hidden_states=embeds,
            pooled_projections=pooled,
            timestep=t * 1000,
            return_dict=False,
        )[0]
