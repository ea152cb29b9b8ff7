"""The common part of the text-to-image networks read from a diffusers pipeline (SDXL, SD3, FLUX.1).

A subclass names its pipeline class, its network part (``unet`` or ``transformer``) and text parts, gives its
prompt encoding, and
implements ``forward(x_t, t, prompts)`` from ``self.text(prompts, ...)``'s embeddings. Here: the family
check before any weight is read, the network (loaded, or random from a config), the frozen shared text side
(:class:`PipelineText`), gradient checkpointing, and replacing the network's weights by a distilled one's.
"""

import os
from typing import Any, Callable, Dict, Optional, Tuple

import torch
from torch import nn

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.pipeline_parts import check_pipeline, check_text_parts, read_network_config
from sfd_lightning.io.pretrained import load_pretrained
from sfd_lightning.models.components.pipeline_family import PipelineFamily, component_of
from sfd_lightning.models.components.pipeline_text import Encoded, PipelineText

FIELD = "net.init_args.pretrained"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class PipelineNetwork(nn.Module, PipelineFamily):
    """A pipeline's denoising network with its text encoders; the network is ``self.<network>``.

    A subclass declares its family in the class attributes below, which the family check made before any weight is
    read and the model card's stock-diffusers recipe (``export/family_recipes.py``) read."""

    pipeline_class: str  # diffusers pipeline class, e.g. "StableDiffusion3Pipeline"
    network: str  # the network's part: "unet" or "transformer"
    network_class: str  # its diffusers class, e.g. "SD3Transformer2DModel"
    text_parts: Tuple[str, ...]  # the text encoders and tokenizers it needs
    noise_kind: str  # the denoiser adapter it takes: "vp" (VPDenoiser: one DDPM step) or "flow" (FlowDenoiser)
    packed_latents: bool = False  # its pipeline takes latents packed into patches (the pipeline's _pack_latents)
    guidance_input: Optional[str] = None  # the argument the network takes as its pipeline's guidance_scale, if any
    guidance_note: str = ""  # what the model card says of that guidance_scale

    def __init__(
        self,
        pretrained: str,
        network_config: Optional[Dict[str, Any]],
        encode: Callable[..., Encoded],
        negative_prompt: str,
        gradient_checkpointing: bool,
        cache_size: int,
        text_encoder_dtype: str,
    ):
        """The shared arguments, as the subclasses document them; ``encode``: the family's prompt encoding."""
        super().__init__()
        import diffusers

        if text_encoder_dtype not in DTYPES:
            raise ConfigError(
                "net.init_args.text_encoder_dtype", f"must be one of {', '.join(DTYPES)}, got {text_encoder_dtype!r}"
            )
        network_cls = getattr(diffusers, self.network_class)
        self.check(pretrained, network_config)
        if network_config is not None:
            model = network_cls(**network_config)
        else:
            model = load_pretrained(network_cls, pretrained, self.network, FIELD)
        setattr(self, self.network, model)
        pipeline = load_pretrained(
            getattr(diffusers, self.pipeline_class),
            pretrained,
            None,
            FIELD,
            **{self.network: None, "vae": None, "scheduler": None},
            dtype=DTYPES[text_encoder_dtype],
        )
        self.text = PipelineText(
            pipeline,
            encode,
            negative_prompt,
            cache_size,
            zeros_for_empty=bool(pipeline.config.get("force_zeros_for_empty_prompt", False)),
        )
        if gradient_checkpointing:
            model.enable_gradient_checkpointing()
        self.num_classes = None

    def check(self, pretrained: str, network_config: Optional[Dict[str, Any]]) -> None:
        """The family of ``pretrained`` (and of ``network_config``) and its text parts, from config files only."""
        import diffusers

        name = type(self).__name__
        index = check_pipeline(
            pretrained,
            FIELD,
            name,
            None if network_config is not None else self.network,
            self.network_class,
            component_of(),
        )
        if network_config is not None:
            self.check_network_config(dict(network_config), "net.init_args.network_config")
        else:
            network_cls = getattr(diffusers, self.network_class)
            self.check_network_config(read_network_config(network_cls, pretrained, self.network, FIELD), FIELD)
        check_text_parts(index, pretrained, FIELD, name, self.text_parts)

    def check_network_config(self, config: Dict[str, Any], field: str) -> None:
        """Refuse a network config of another family sharing the class (SDXL's UNet is SD's class)."""

    @property
    def model(self) -> nn.Module:
        return getattr(self, self.network)

    def load_generator_folder(self, path: str) -> None:
        """Replace the network's weights with a (distilled one-step) network saved in diffusers layout
        (``path`` or ``path/<network>``), strictly; the text encoders are unchanged."""
        import diffusers

        from sfd_lightning.io.source import Source
        from sfd_lightning.io.strict import load_state_into

        subfolder = self.network if os.path.isdir(os.path.join(path, self.network)) else None
        model = load_pretrained(getattr(diffusers, self.network_class), path, subfolder, "model.init_ckpt")
        load_state_into(
            self.model, model.state_dict(), Source(path, "model.init_ckpt"), f"the teacher's {self.network}"
        )

    def embeddings(self, prompts, x: torch.Tensor) -> Encoded:
        """Token and pooled embeddings of ``prompts`` in the network's dtype."""
        if isinstance(prompts, torch.Tensor) or not isinstance(prompts, (list, tuple)):
            raise TypeError(
                f"{type(self).__name__} is conditioned on prompts (a list of strings), not {type(prompts).__name__}"
            )
        return self.text(prompts, x.device, self.model.dtype)
