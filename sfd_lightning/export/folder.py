"""An SFD checkpoint's EMA one-step generator as a folder, and back.

    DIR/sfd_generator.json   what rebuilds it: the denoiser's class_path config (allow-listed classes
                             only), t_init and sigma_init, the conditioning, the autoencoder (latent models), the SFD
                             settings, forget and override classes
    DIR/model.safetensors    the EMA generator's weights (safetensors: tensors only, nothing to execute)
    DIR/unet/, DIR/transformer/   Stable Diffusion's UNet or DiT's transformer in diffusers' own layout
                             (``UNet2DConditionModel.from_pretrained(DIR, subfolder="unet")``); the frozen parts
                             (text encoder, tokenizer, VAE) by reference: the base model named in the config
    DIR/README.md            the model card (``model_card.py``)
"""
import json
import os
from typing import Any, Dict, Tuple

import torch
from torch import nn

from sfd_lightning.checkpoints import build, extract_state_dict, load_state_into, read_checkpoint
from sfd_lightning.errors import ConfigError

FORMAT = "sfd-lightning/one-step-generator/1"
CONFIG = "sfd_generator.json"
WEIGHTS = "model.safetensors"
SETTINGS = ("alpha", "loss_weights", "timesteps", "guidance", "ema_decay", "init_ckpt", "teacher_ckpt")


def t_init_of(hparams: Dict[str, Any]) -> int:
    """An SFD checkpoint's one-step timestep (``timesteps.t_init``; flat ``t_init`` in checkpoints before the grouping)."""
    return int((hparams.get("timesteps") or {}).get("t_init", hparams.get("t_init", 440)))


def generator_of_checkpoint(path: str, field: str = "--ckpt") -> Tuple[Dict[str, Any], Dict[str, torch.Tensor]]:
    """(metadata, EMA generator weights) of an SFD Lightning checkpoint; anything else is a one-line ConfigError."""
    return generator_of(read_checkpoint(path, field), path, field)


def generator_of(ckpt: Dict[str, Any], path: str, field: str) -> Tuple[Dict[str, Any], Dict[str, torch.Tensor]]:
    """:func:`generator_of_checkpoint` of a checkpoint already read."""
    hparams = ckpt.get("hyper_parameters") or {}
    if "teacher" not in hparams:
        raise ConfigError(field, f"{path!r} is not an SFD checkpoint (sfd fit's checkpoints/last.ckpt of an SFDModule run)")
    if not (isinstance(hparams["teacher"], dict) and "class_path" in hparams["teacher"]):
        raise ConfigError(field, f"{path!r} does not record its generator architecture (class_path); was it written by `sfd fit`?")
    state = extract_state_dict(ckpt, ["generator_ema.module."])
    meta = {"format": FORMAT, "denoiser": hparams["teacher"], "autoencoder": hparams.get("autoencoder"),
            "t_init": t_init_of(hparams), "num_classes": hparams.get("num_classes"),
            "forget_label": hparams.get("forget_label"), "override_label": hparams.get("override_label"),
            "iteration": ckpt.get("sfd_iteration"), "settings": {k: hparams.get(k) for k in SETTINGS if k in hparams}}
    return meta, state


def write_folder(meta: Dict[str, Any], state: Dict[str, torch.Tensor], out: str) -> None:
    """The folder's weights and config (the model card is written beside them by the caller)."""
    from safetensors.torch import save_file

    os.makedirs(out, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, os.path.join(out, WEIGHTS))
    with open(os.path.join(out, CONFIG), "w") as f:
        json.dump(meta, f, indent=1)


DIFFUSERS_PARTS = {"unet": "unet", "transformer": "transformer"}  # the network's attribute: its subfolder


def write_diffusers_parts(denoiser: nn.Module, out: str) -> None:
    """The diffusers models inside the network (SD's UNet, DiT's transformer), saved in diffusers' layout."""
    for attribute, subfolder in DIFFUSERS_PARTS.items():
        model = getattr(denoiser.net, attribute, None)
        if model is not None and hasattr(model, "save_pretrained"):
            model.save_pretrained(os.path.join(out, subfolder))


def is_generator_folder(path: str) -> bool:
    return os.path.isfile(os.path.join(path, CONFIG))


def rebuild(meta: Dict[str, Any], state: Dict[str, torch.Tensor], field: str, path: str) -> Tuple[nn.Module, Any]:
    """The denoiser with ``state`` loaded, and the autoencoder (or None), from allow-listed classes only."""
    denoiser = build(meta["denoiser"], field, path)
    load_state_into(denoiser, state, field, path, "the generator's denoiser config")
    config = meta.get("autoencoder")
    autoencoder = build(config, field, path) if isinstance(config, dict) and "class_path" in config else None
    return denoiser.eval().requires_grad_(False), autoencoder


def read_folder(path: str, field: str = "path") -> Tuple[Dict[str, Any], Dict[str, torch.Tensor]]:
    """(metadata, weights) of an exported generator folder; a foreign folder is a one-line ConfigError."""
    from safetensors.torch import load_file

    if not is_generator_folder(path):
        raise ConfigError(field, f"{path!r} is not an exported SFD generator (no {CONFIG}); write one with sfd export")
    with open(os.path.join(path, CONFIG)) as f:
        meta = json.load(f)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ConfigError(field, f"{path!r}: {CONFIG} is not format {FORMAT!r}")
    return meta, load_file(os.path.join(path, WEIGHTS))
