"""FLUX.1's transformer (Black Forest Labs, 2024) with its CLIP-L and T5 text encoders, as one network.

``FluxTransformer(x_t, t, prompts) -> v_hat`` on (B, 16, S, S) latents, with the flow time t in (0, 1): a
rectified-flow velocity predictor (wrap it in :class:`~sfd_lightning.diffusion.FlowDenoiser`; dev: the
resolution-dependent shift, schnell: none). The latents are packed into 2 x 2 patches (the pipeline's own
packing) for the transformer and the velocity unpacked back.

Guidance. FLUX.1-dev is guidance-distilled: ``guidance`` (3.5 by default) is an input of the network, and it
was never trained on a negative or empty prompt. So its configs use no classifier-free guidance (scales 1):
the teacher of a forget row is the override prompt at the embedded guidance, and the forget terms have no
unconditional branch, so the nudity configs' NSFW negative prompt has nowhere to go. A scale above 1 is
"true CFG" (the pipeline's ``true_cfg_scale``): the null condition is ``negative_prompt`` encoded, at twice the
cost. schnell (``guidance_embeds`` false) ignores ``guidance``.
"""

from functools import partial
from typing import Any, Dict, Optional

import torch

from sfd_lightning.models.components.pipeline_network import PipelineNetwork
from sfd_lightning.models.components.pipeline_text import encode_flux


class FluxTransformer(PipelineNetwork):
    """FLUX.1's transformer: ``forward(x_t, t, prompts) -> v_hat`` on unpacked latents."""

    noise_kind = "flow"  # the denoiser adapter it takes: FlowDenoiser

    pipeline_class, network, network_class = "FluxPipeline", "transformer", "FluxTransformer2DModel"
    text_parts = ("text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2")
    packed_latents, guidance_input = True, "guidance"
    guidance_note = "FLUX.1-dev's distilled-guidance input, the one the generator was trained at"

    def __init__(
        self,
        pretrained: str = "black-forest-labs/FLUX.1-dev",
        guidance: float = 3.5,
        resolution: int = 128,
        negative_prompt: str = "",
        network_config: Optional[Dict[str, Any]] = None,
        gradient_checkpointing: bool = False,
        cache_size: int = 4096,
        text_encoder_dtype: str = "float32",
        max_sequence_length: int = 512,
    ):
        """
        Args:
            pretrained: hub id or local folder of a FLUX.1 pipeline (transformer/, text_encoder/, text_encoder_2/,
                tokenizer/, tokenizer_2/).
            guidance: the distilled guidance FLUX.1-dev takes as an input (its pipeline's ``guidance_scale``).
            resolution: latent size S (1024 x 1024 images: 128), which the transformer does not store.
            negative_prompt: what the null condition encodes, used only by true CFG (a guidance scale above 1).
            network_config: ``FluxTransformer2DModel`` arguments for a randomly initialised transformer (tests,
                memory benchmarks) instead of loading one; the text side is still read from ``pretrained``.
            gradient_checkpointing: recompute transformer blocks in the backward pass (less memory, more time).
            cache_size: prompt embeddings kept.
            text_encoder_dtype: the frozen text encoders' dtype: float32, bfloat16 or float16 (T5-XXL: 19 GB in
                float32).
            max_sequence_length: T5 tokens per prompt (dev: 512, schnell: 256).
        """
        super().__init__(
            pretrained,
            network_config,
            partial(encode_flux, max_sequence_length=max_sequence_length),
            negative_prompt,
            gradient_checkpointing,
            cache_size,
            text_encoder_dtype,
        )
        self.guidance = guidance
        self.in_channels, self.resolution = self.transformer.config.in_channels // 4, resolution

    def forward(self, x: torch.Tensor, t: torch.Tensor, prompts) -> torch.Tensor:
        from diffusers import FluxPipeline

        embeds, pooled = self.embeddings(prompts, x)
        (b, c, h, w), dtype = x.shape, self.transformer.dtype
        packed = FluxPipeline._pack_latents(x.to(dtype), b, c, h, w)  # (B, h/2 * w/2, 4C)
        image_ids = FluxPipeline._prepare_latent_image_ids(b, h // 2, w // 2, x.device, dtype)
        text_ids = torch.zeros(embeds.shape[1], 3, device=x.device, dtype=dtype)
        guidance = torch.full((b,), self.guidance, device=x.device) if self.transformer.config.guidance_embeds else None
        t = t.expand(b) if t.dim() == 0 else t
        v = self.transformer(
            hidden_states=packed,
            timestep=t.to(dtype),
            guidance=guidance,
            pooled_projections=pooled,
            encoder_hidden_states=embeds,
            txt_ids=text_ids,
            img_ids=image_ids,
            return_dict=False,
        )[0]
        return FluxPipeline._unpack_latents(v, h, w, 1).to(x.dtype)  # vae_scale_factor 1: h, w are latent sizes
