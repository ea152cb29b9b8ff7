"""Stable Diffusion XL's UNet (Podell et al., 2023) with its two CLIP text encoders, as one network.

``SDXLUNet(x_t, t, prompts) -> eps_hat`` on (B, 4, S, S) latents: a VP epsilon predictor on SD's
scaled-linear schedule (wrap it in :class:`~sfd_lightning.diffusion.VPDenoiser`). Its added conditions are the
pipeline's: the pooled CLIP-G embedding and the time ids (original size, crop corner, target size), here
the pipeline's default, size = the latent size x ``vae_scale_factor`` and no crop.
"""

from typing import Any, Dict, Optional

import torch

from sfd_lightning.errors import ConfigError
from sfd_lightning.models.components.pipeline_network import PipelineNetwork
from sfd_lightning.models.components.pipeline_text import encode_sdxl


class SDXLUNet(PipelineNetwork):
    """SDXL's UNet with its added text and time conditions: ``forward(x_t, t, prompts) -> eps_hat``."""

    noise_kind = "vp"  # the denoiser adapter it takes: VPDenoiser

    pipeline_class, network, network_class = "StableDiffusionXLPipeline", "unet", "UNet2DConditionModel"
    text_parts = ("text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2")

    def __init__(
        self,
        pretrained: str = "stabilityai/stable-diffusion-xl-base-1.0",
        negative_prompt: str = "",
        network_config: Optional[Dict[str, Any]] = None,
        gradient_checkpointing: bool = False,
        cache_size: int = 4096,
        text_encoder_dtype: str = "float32",
        vae_scale_factor: int = 8,
    ):
        """
        Args:
            pretrained: hub id or local folder of an SDXL pipeline (unet/, text_encoder/, text_encoder_2/,
                tokenizer/, tokenizer_2/).
            negative_prompt: what the null condition (CFG's unconditional branch) encodes; empty: all-zero
                embeddings, as SDXL's pipelines give an empty negative prompt.
            network_config: ``UNet2DConditionModel`` arguments for a randomly initialised UNet (tests, memory
                benchmarks) instead of loading one; the text side is still read from ``pretrained``.
            gradient_checkpointing: recompute UNet blocks in the backward pass (less memory, more time).
            cache_size: prompt embeddings kept.
            text_encoder_dtype: the frozen text encoders' dtype: float32, bfloat16 or float16.
            vae_scale_factor: pixels a latent (SDXL's VAE: 8), for the image size the time ids state.
        """
        super().__init__(
            pretrained,
            network_config,
            encode_sdxl,
            negative_prompt,
            gradient_checkpointing,
            cache_size,
            text_encoder_dtype,
        )
        cfg = self.unet.config
        self.in_channels, self.resolution, self.vae_scale_factor = cfg.in_channels, cfg.sample_size, vae_scale_factor

    def check_network_config(self, config: Dict[str, Any], field: str) -> None:
        if config.get("addition_embed_type") != "text_time":
            raise ConfigError(
                field,
                "is not an SDXL UNet (its addition_embed_type is "
                f"{config.get('addition_embed_type')!r}, not 'text_time'); use SDUNet",
            )

    def forward(self, x: torch.Tensor, t: torch.Tensor, prompts) -> torch.Tensor:
        embeds, pooled = self.embeddings(prompts, x)
        height, width = x.shape[-2] * self.vae_scale_factor, x.shape[-1] * self.vae_scale_factor
        time_ids = torch.tensor([height, width, 0, 0, height, width], device=x.device, dtype=embeds.dtype)
        t = t.expand(x.shape[0]) if t.dim() == 0 else t
        return self.unet(
            x,
            t,
            encoder_hidden_states=embeds,
            return_dict=False,
            added_cond_kwargs={"text_embeds": pooled, "time_ids": time_ids.expand(x.shape[0], 6)},
        )[0]
