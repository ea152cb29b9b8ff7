"""A Stable Diffusion generator as one checkpoint file in the original Stable Diffusion (CompVis/LDM) layout, the
file ComfyUI (``models/checkpoints``) and AUTOMATIC1111 (``models/Stable-diffusion``) load:

    DIR/sfd_generator_single_file.safetensors
        model.diffusion_model.*          the exported generator's UNet
        first_stage_model.*              the run's frozen VAE
        cond_stage_model.transformer.*   the run's frozen CLIP text encoder (SD 1.x's)

The name is fixed, so a model card and a Hub repository name the file whatever the folder is called (ComfyUI lists
checkpoints by file name: rename the copy you put there). Only a Stable Diffusion 1.x run (OpenAI's CLIP text
encoder) has this layout; SD 2.x's OpenCLIP encoder is stored another way and gets no single file, nor does a run
without an autoencoder, DiT or a pixel-space model. The renamings are in :mod:`sfd_lightning.export.ldm_layout`.
"""

import os
from typing import Dict, Optional

import torch
from torch import nn

from sfd_lightning.errors import ConfigError
from sfd_lightning.export.ldm_layout import Table, rename, unet_table, vae_attention_as_conv, vae_table
from sfd_lightning.io.atomic import save_safetensors

SINGLE_FILE = "sfd_generator_single_file.safetensors"
UNET, VAE, TEXT = "model.diffusion_model.", "first_stage_model.", "cond_stage_model.transformer."


def to_ldm(state: Dict[str, torch.Tensor], table: Table, prefix: str, what: str) -> Dict[str, torch.Tensor]:
    """``state`` under its LDM names after ``prefix``; a key the layout has no place for is a one-line ConfigError
    (a file missing weights would load with random ones)."""
    out = {}
    for key, value in state.items():
        ldm = rename(key, table)
        if ldm is None:
            raise ConfigError("--ckpt", f"the {what}'s {key!r} has no place in the original Stable Diffusion layout")
        out[prefix + ldm] = value
    return out


def text_to_ldm(encoder: nn.Module) -> Dict[str, torch.Tensor]:
    """The CLIP text model's weights as transformers names them inside ``text_model`` (newer transformers leave
    that level out of ``CLIPTextModel``'s state dict; the LDM layout keeps it)."""
    state = encoder.state_dict()
    return {TEXT + (k if k.startswith("text_model.") else "text_model." + k): v for k, v in state.items()}


def single_file_state(unet: nn.Module, vae: nn.Module, text_encoder: nn.Module) -> Dict[str, torch.Tensor]:
    """The UNet's, VAE's and text encoder's weights under their LDM names, as contiguous CPU tensors."""
    unet_state = unet.state_dict()
    vae_state = to_ldm(vae.state_dict(), vae_table(vae.config), VAE, "VAE")
    state = {
        **to_ldm(unet_state, unet_table(unet.config, unet_state), UNET, "UNet"),
        **{k: vae_attention_as_conv(k, v) for k, v in vae_state.items()},
        **text_to_ldm(text_encoder),
    }
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def is_sd1_text_encoder(encoder: nn.Module) -> bool:
    """OpenAI's CLIP text model (quick_gelu activations), SD 1.x's; SD 2.x's OpenCLIP encoder uses gelu."""
    return getattr(getattr(encoder, "config", None), "hidden_act", None) == "quick_gelu"


def write_single_file(denoiser: nn.Module, autoencoder: Optional[nn.Module], folder: str) -> Optional[str]:
    """Write :data:`SINGLE_FILE` into ``folder`` for a Stable Diffusion 1.x generator; returns its name, else None."""
    unet, text = getattr(denoiser.net, "unet", None), getattr(denoiser.net, "text", None)
    vae = getattr(autoencoder, "vae", None)
    if unet is None or vae is None or not is_sd1_text_encoder(getattr(text, "encoder", None)):  # SDXL: no single file
        return None
    save_safetensors(single_file_state(unet, vae, text.encoder), os.path.join(folder, SINGLE_FILE), "--out")
    return SINGLE_FILE
