"""Multi-step models read back from the files ``sfd`` writes: teacher assets, DiffusionModule checkpoints (their
EMA weights) and the baselines' checkpoints (their fine-tuned model); :func:`is_one_step` tells an SFD
checkpoint (see ``io.folder`` for its one-step generator) from them. Networks are rebuilt only from allowed
classes (``allow_list``)."""

from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn

from sfd_lightning.diffusion.denoiser import Denoiser
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.asset import FORMAT
from sfd_lightning.io.build import build, build_loaded
from sfd_lightning.io.checkpoint import extract_state_dict
from sfd_lightning.io.source import Source


def denoiser_from(config: Any, state: Dict[str, torch.Tensor], path: str, what: str, device: torch.device) -> Denoiser:
    """A denoiser rebuilt from its class_path config (allowed classes only) with ``state`` loaded strictly, frozen;
    the weights' shapes are checked against the config before the network is built."""
    if not isinstance(config, dict) or "class_path" not in config:
        raise ConfigError(
            "--ckpt", f"{path!r} does not record its {what} architecture (class_path); was it written by `sfd fit`?"
        )
    denoiser = build_loaded(config, state, Source(path, "--ckpt"), f"the {what} config stored in the checkpoint")
    return denoiser.to(device).eval().requires_grad_(False)


def is_one_step(ckpt: Dict[str, Any]) -> bool:
    """An SFDModule checkpoint (its EMA one-step generator), rather than a multi-step model's."""
    hparams = ckpt.get("hyper_parameters", {})
    return "teacher" in hparams and not str(hparams.get("_class_path", "")).startswith("sfd_lightning.baselines.")


def load_multistep(ckpt: Dict[str, Any], path: str, device: torch.device) -> Tuple[Denoiser, str, Dict[str, Any]]:
    """(denoiser, what it is, its hyper-parameters) of a teacher asset, a DiffusionModule checkpoint (its EMA
    weights) or a baseline's checkpoint (ESD, SalUn, Selective Amnesia: the fine-tuned model)."""
    hparams = ckpt.get("hyper_parameters", {})
    if str(hparams.get("_class_path", "")).startswith("sfd_lightning.baselines."):
        name = hparams["_class_path"].rsplit(".", 1)[-1]
        return (
            denoiser_from(hparams["teacher"], extract_state_dict(ckpt, ["student."]), path, "fine-tuned", device),
            name,
            hparams,
        )
    if ckpt.get("format") == FORMAT.format(kind="denoiser"):
        return denoiser_from(ckpt["config"], ckpt["state_dict"], path, "teacher", device), "teacher", hparams
    if "denoiser" in hparams:
        return (
            denoiser_from(
                hparams["denoiser"], extract_state_dict(ckpt, ["denoiser_ema.module."]), path, "teacher", device
            ),
            "diffusion model",
            hparams,
        )
    raise ConfigError(
        "--ckpt", f"{path!r} is neither an SFD checkpoint, a DiffusionModule or baseline checkpoint nor a teacher asset"
    )


def autoencoder_of(hparams: Dict[str, Any], path: str, device: torch.device) -> Optional[nn.Module]:
    """A latent multi-step model's frozen autoencoder, from its ``autoencoder`` config (a Stable Diffusion baseline's;
    allowed classes only, weights from its own ``pretrained``); None for pixel models."""
    config = hparams.get("autoencoder")
    if not (isinstance(config, dict) and "class_path" in config):
        return None
    return build(config, Source(path, "--ckpt")).to(device).eval().requires_grad_(False)


def multistep_meta(ckpt: Dict[str, Any], hparams: Dict[str, Any]) -> Dict[str, Any]:
    """What a multi-step checkpoint records, in the keys of a one-step generator's metadata (``io.folder``)."""
    config = hparams.get("teacher") or hparams.get("denoiser") or ckpt.get("config")
    return {
        "denoiser": config,
        "autoencoder": hparams.get("autoencoder"),
        "num_classes": hparams.get("num_classes"),
        "forget_label": hparams.get("forget_label"),
        "settings": {"teacher_ckpt": hparams.get("teacher_ckpt")},
    }
