"""Reading checkpoint files: exported assets, Lightning checkpoints, the reference implementation's lists and
bare state dicts, all with ``torch.load(weights_only=True)``.

Every failure is a :class:`ConfigError` naming the config field that pointed at the file (its :class:`Source`).
"""

import os
from typing import Any, Dict, Iterable, Mapping

import torch

from sfd_lightning.errors import describe
from sfd_lightning.io.reference import is_reference_checkpoint, reference_weights
from sfd_lightning.io.source import Source


def is_adapter_key(key: str) -> bool:
    """Whether a state-dict key names a LoRA adapter tensor (peft's ``lora_A``/``lora_B``): LoRA SFD checkpoints hold
    the adapters beside the merged EMA generator that every reader of the generator takes."""
    return "lora_" in key


def read_any(source: Source, mmap: bool = False) -> Any:
    """Load a checkpoint file with ``weights_only=True``; missing or unreadable files name the source's field.

    ``mmap``: map the tensors instead of reading them, for a look at a checkpoint's metadata.
    """
    path = source.path
    if not path or not os.path.isfile(path):
        raise source.error(f"checkpoint file not found: {path!r}")
    if os.path.getsize(path) == 0:
        raise source.error(f"cannot read checkpoint {path!r}: it is empty (0 bytes); was its writing cut short?")
    with open(path, "rb") as f:
        head = f.read(4)
    if not head.startswith((b"PK\x03\x04", b"\x80")):  # torch.save's zip archive, or its older bare pickle
        raise source.error(
            f"cannot read checkpoint {path!r}: it is not a PyTorch checkpoint (torch.save "
            f"writes a zip archive; it starts with {head!r})"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as err:  # torch raises many types for corrupt or foreign files
        raise source.error(f"cannot read checkpoint {path!r} ({describe(err)})") from None


def read_checkpoint(source: Source, mmap: bool = False) -> Dict[str, Any]:
    """:func:`read_any` for files that must hold a dict (assets, Lightning checkpoints)."""
    obj = read_any(source, mmap)
    if not isinstance(obj, dict):
        raise source.error(f"checkpoint {source.path!r} holds a {type(obj).__name__}, expected a dict")
    return obj


def extract_state_dict(ckpt: Mapping[str, Any], prefixes: Iterable[str] = ()) -> Dict[str, torch.Tensor]:
    """The network weights in an asset, a Lightning checkpoint (first matching prefix), or a bare state dict."""
    state = ckpt.get("state_dict", ckpt)
    for prefix in prefixes:
        picked = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        if picked:
            return picked
    return {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def network_weights(
    obj: Any, source: Source, prefixes: Iterable[str] = (), use_ema: bool = True, role: str = "model"
) -> Dict[str, torch.Tensor]:
    """Weights of one network in a loaded checkpoint of any supported kind, reference lists included."""
    if is_reference_checkpoint(obj):
        try:
            return reference_weights(obj, use_ema=use_ema, role=role)
        except ValueError as err:
            raise source.error(f"reference checkpoint {source.path!r}: {err}") from None
    if not isinstance(obj, Mapping):
        raise source.error(
            f"checkpoint {source.path!r} holds a {type(obj).__name__}, expected a dict or a reference checkpoint list"
        )
    return extract_state_dict(obj, prefixes)
