"""Results of deterministic evaluations kept in a JSON file, keyed by a hash of all they depend on.

A shipped teacher's FID at fixed settings and noise seeds is the same in every run: the first run
computes it, later runs read it (``FIDCallback(teacher_cache=...)``). The key hashes the teacher's
weights, the real images' feature statistics (so the feature extractor and reference data count)
and every setting of the sampling, so a changed teacher or setting never reads a stale value.
"""
import hashlib
import json
import os
from typing import Any, Dict, Iterable

import torch

from sfd_lightning.checkpoints import atomic_write


def tensors_digest(tensors: Iterable[torch.Tensor]) -> str:
    """SHA-256 of the tensors' dtypes, shapes and values."""
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def module_digest(module: torch.nn.Module) -> str:
    """SHA-256 of a module's state (names, parameters and buffers)."""
    state = module.state_dict()
    names = sorted(state)
    return hashlib.sha256((",".join(names) + tensors_digest(state[k] for k in names)).encode()).hexdigest()


class ResultCache:
    """Values stored under a key made from ``parts``: a dict of plain values and digests."""

    def __init__(self, path: str):
        self.path = path

    def _entries(self) -> Dict[str, Any]:
        if not os.path.exists(self.path):
            return {}
        with open(self.path) as f:
            entries = json.load(f)
        return entries if isinstance(entries, dict) else {}

    @staticmethod
    def key(parts: Dict[str, Any]) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]

    def lookup(self, parts: Dict[str, Any]):
        """The stored value for ``parts``, or None."""
        entry = self._entries().get(self.key(parts))
        return None if entry is None else entry["value"]

    def store(self, parts: Dict[str, Any], value: Any) -> None:
        entries = self._entries()
        entries[self.key(parts)] = {"value": value, "parts": parts}
        text = json.dumps(entries, indent=1, sort_keys=True) + "\n"
        atomic_write(self.path, lambda f: f.write(text.encode()))
