"""Exported assets: a plain dict, safe for ``torch.load(weights_only=True)``:
``{"format": "sfd-lightning/<kind>/v1", "config": {"class_path", "init_args"}, "state_dict": ...}``."""

from typing import Any, Mapping

import torch
from torch import nn

from sfd_lightning.io.atomic import atomic_save
from sfd_lightning.io.build import build_loaded
from sfd_lightning.io.checkpoint import read_checkpoint
from sfd_lightning.io.source import Source

FORMAT = "sfd-lightning/{kind}/v1"


def export_weights(path: str, kind: str, config: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor]) -> None:
    """Save an asset: the network's class_path config and its weights."""
    weights = {k: v.detach().cpu().clone() for k, v in state_dict.items()}
    atomic_save({"format": FORMAT.format(kind=kind), "config": dict(config), "state_dict": weights}, path)


def load_exported(source: Source, kind: str) -> nn.Module:
    """Rebuild and load a network from an exported asset of the given kind."""
    ckpt = read_checkpoint(source)
    expected = FORMAT.format(kind=kind)
    if ckpt.get("format") != expected:
        raise source.error(
            f"{source.path!r} is not a {kind} asset (format {ckpt.get('format')!r}, expected {expected!r})"
        )
    return build_loaded(ckpt.get("config"), ckpt.get("state_dict"), source, f"{source.path}'s own config")
