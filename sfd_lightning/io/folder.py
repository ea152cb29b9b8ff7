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

from sfd_lightning.errors import describe
from sfd_lightning.io.atomic import atomic_write, save_safetensors
from sfd_lightning.io.build import build, build_loaded
from sfd_lightning.io.checkpoint import extract_state_dict, is_adapter_key, read_checkpoint
from sfd_lightning.io.source import Source

FORMAT = "sfd-lightning/one-step-generator/1"
CONFIG = "sfd_generator.json"
WEIGHTS = "model.safetensors"
SETTINGS = ("alpha", "loss_weights", "timesteps", "guidance", "ema_decay", "init_ckpt", "teacher_ckpt", "previous")


def t_init_of(hparams: Dict[str, Any]) -> Any:
    """An SFD checkpoint's one-step timestep (``timesteps.t_init``; flat ``t_init`` in checkpoints before the
    grouping), as stored: :func:`rebuild` refuses anything but an integer timestep of the schedule."""
    timesteps = hparams.get("timesteps")
    return (timesteps if isinstance(timesteps, dict) else {}).get("t_init", hparams.get("t_init", 440))


def generator_of_checkpoint(source: Source) -> Tuple[Dict[str, Any], Dict[str, torch.Tensor]]:
    """(metadata, EMA generator weights) of an SFD Lightning checkpoint; anything else is a one-line ConfigError."""
    return generator_of(read_checkpoint(source), source)


def generator_of(ckpt: Dict[str, Any], source: Source) -> Tuple[Dict[str, Any], Dict[str, torch.Tensor]]:
    """:func:`generator_of_checkpoint` of a checkpoint already read."""
    hparams = ckpt.get("hyper_parameters") or {}
    if "teacher" not in hparams:
        raise source.error(
            f"{source.path!r} is not an SFD checkpoint (sfd fit's checkpoints/last.ckpt of an SFDModule run)"
        )
    if not (isinstance(hparams["teacher"], dict) and "class_path" in hparams["teacher"]):
        raise source.error(
            f"{source.path!r} does not record its generator architecture (class_path); was it written by `sfd fit`?"
        )
    state = extract_state_dict(ckpt, ["generator_ema.module."])
    state = {k: v for k, v in state.items() if not is_adapter_key(k)}  # LoRA SFD: the merged weights beside them
    meta = {
        "format": FORMAT,
        "denoiser": hparams["teacher"],
        "autoencoder": hparams.get("autoencoder"),
        "t_init": t_init_of(hparams),
        "num_classes": hparams.get("num_classes"),
        "forget_label": hparams.get("forget_label"),
        "override_label": hparams.get("override_label"),
        "iteration": ckpt.get("sfd_iteration"),
        "settings": {k: hparams.get(k) for k in SETTINGS if k in hparams},
    }
    if "sfd_lineage" in ckpt:  # every forget request the generator carries out (``forgetting/lineage.py``)
        meta["lineage"] = ckpt["sfd_lineage"]
    return meta, state


def write_folder(meta: Dict[str, Any], state: Dict[str, torch.Tensor], out: str) -> None:
    """The folder's weights and config (the model card is written beside them by the caller)."""
    save_safetensors(state, os.path.join(out, WEIGHTS), "--out")
    atomic_write(os.path.join(out, CONFIG), lambda f: f.write(json.dumps(meta, indent=1).encode()), "--out")


DIFFUSERS_PARTS = {"unet": "unet", "transformer": "transformer"}  # the network's attribute: its subfolder


def write_diffusers_parts(denoiser: nn.Module, out: str) -> None:
    """The diffusers models inside the network (SD's UNet, DiT's transformer), saved in diffusers' layout."""
    for attribute, subfolder in DIFFUSERS_PARTS.items():
        model = getattr(denoiser.net, attribute, None)
        if model is not None and hasattr(model, "save_pretrained"):
            model.save_pretrained(os.path.join(out, subfolder))


def is_generator_folder(path: str) -> bool:
    return os.path.isfile(os.path.join(path, CONFIG))


def rebuild(meta: Dict[str, Any], state: Dict[str, torch.Tensor], source: Source) -> Tuple[nn.Module, Any]:
    """The denoiser with ``state`` loaded, and the autoencoder (or None), from allow-listed classes only; the
    weights' shapes are checked against the stored architecture before it is built, and t_init against its
    schedule."""
    denoiser = build_loaded(meta["denoiser"], state, source, "the generator's denoiser config")
    t_init, steps = meta["t_init"], denoiser.schedule.num_timesteps
    if isinstance(t_init, bool) or not isinstance(t_init, int) or not 0 <= t_init < steps:
        raise source.error(
            f"{source.path!r} stores t_init {t_init!r}; it must be an integer timestep of the "
            f"denoiser's schedule, in [0, {steps - 1}]"
        )
    config = meta.get("autoencoder")
    autoencoder = build(config, source) if isinstance(config, dict) and "class_path" in config else None
    return denoiser.eval().requires_grad_(False), autoencoder


# what sfd_generator.json must hold: key -> (the types allowed, what the error says is allowed)
META_KEYS = {
    "denoiser": (dict, "a class_path config"),
    "t_init": (int, "an integer timestep"),
    "autoencoder": ((dict, type(None)), "a class_path config or null"),
    "num_classes": ((int, type(None)), "an integer or null"),
    "forget_label": ((int, str, list, type(None)), "a class index, a class name, a list of them or null"),
    "override_label": ((int, str, list, type(None)), "a class index, a class name, a list of them or null"),
    "settings": ((dict, type(None)), "an object or null"),
    "lineage": (list, "a list of forget steps"),
}
REQUIRED = ("denoiser", "t_init")


def read_meta(source: Source) -> Dict[str, Any]:
    """``sfd_generator.json`` of a folder: valid JSON of this format, each key of :data:`META_KEYS` of its type."""
    config = os.path.join(source.path, CONFIG)
    try:
        with open(config, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError;
        # RecursionError: arrays or objects nested deeper than Python's recursion limit
        raise source.error(f"{config!r} is not readable JSON ({describe(err)})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise source.error(f"{config!r} is not an object of format {FORMAT!r}")
    for key, (types, allowed) in META_KEYS.items():
        if key not in meta and key in REQUIRED:
            raise source.error(f"{config!r} has no {key!r}; it must be {allowed}")
        value = meta.get(key)
        if key in meta and (isinstance(value, bool) or not isinstance(value, types)):
            raise source.error(f"{config!r}: {key!r} is {value!r}; it must be {allowed}")
        if isinstance(value, dict) and key in ("denoiser", "autoencoder") and "class_path" not in value:
            raise source.error(f"{config!r}: {key!r} has no class_path; it must be {allowed}")
    return meta


def read_weights(source: Source) -> Dict[str, torch.Tensor]:
    """A folder's ``model.safetensors``; missing, empty, truncated or foreign files are one-line ConfigErrors.

    safetensors checks the header (its length, at most 100 MB, against the file's; the tensors' offsets
    cover the file exactly) before reading any tensor, so the memory read is bounded by the file's size.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights = os.path.join(source.path, WEIGHTS)
    if not os.path.isfile(weights):
        raise source.error(f"{source.path!r} has no {WEIGHTS}; an exported generator folder holds its weights there")
    try:
        return load_file(weights)
    except (SafetensorError, OSError) as err:
        raise source.error(f"{weights!r} is not a readable safetensors file ({describe(err)})") from None


def read_folder(source: Source) -> Tuple[Dict[str, Any], Dict[str, torch.Tensor]]:
    """(metadata, weights) of an exported generator folder; a foreign or damaged folder is a one-line ConfigError."""
    if not is_generator_folder(source.path):
        raise source.error(f"{source.path!r} is not an exported SFD generator (no {CONFIG}); write one with sfd export")
    return read_meta(source), read_weights(source)
