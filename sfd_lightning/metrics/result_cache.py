"""Results of deterministic evaluations kept in JSON files, keyed by a hash of the inputs they depend on.

A shipped teacher's FID at fixed settings and noise seeds is the same in every run: the first run
computes it, later runs read it (``FIDCallback(teacher_cache=...)``). The key hashes inputs only: the
teacher's (and autoencoder's) weights, the feature extractor's weights, the real images and every
setting of the sampling. Inputs are bit-identical on every machine, where computed features are not
(their last bits change with the CPU and the thread count), so a shipped table hits anywhere.

A cache reads the file it is given (a shipped table, never written) and the user cache; new entries
go to the user cache only: ``$SFD_CACHE_DIR``, else ``$XDG_CACHE_HOME/sfd-lightning``, else
``~/.cache/sfd-lightning``. An unreadable or corrupt file is reported and read as empty, never fatal:
it can only cost a recomputation.
"""

import hashlib
import json
import math
import os
import sys
from typing import Any, Dict, Iterable, Optional

import torch

from sfd_lightning.errors import describe
from sfd_lightning.io.atomic import atomic_write
from sfd_lightning.io.cache_dir import user_cache_dir

_reported = set()  # unreadable cache files already said, once a process


class StreamDigest:
    """SHA-256 of tensors fed one after another (dtypes, shapes and values): a digest of data read in batches."""

    def __init__(self):
        self._hash = hashlib.sha256()

    def update(self, tensor: torch.Tensor) -> None:
        t = tensor.detach().cpu().contiguous()
        self._hash.update(f"{t.dtype}{tuple(t.shape)}".encode())
        self._hash.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def tensors_digest(tensors: Iterable[torch.Tensor]) -> str:
    """SHA-256 of the tensors' dtypes, shapes and values."""
    digest = StreamDigest()
    for t in tensors:
        digest.update(t)
    return digest.hexdigest()


def module_digest(module: torch.nn.Module) -> str:
    """SHA-256 of a module's state (names, parameters and buffers)."""
    state = module.state_dict()
    names = sorted(state)
    return hashlib.sha256((",".join(names) + tensors_digest(state[k] for k in names)).encode()).hexdigest()


def read_entries(path: str) -> Dict[str, Any]:
    """The entries of one cache file; a missing file is empty, an unreadable one is said on stderr and empty."""
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)
        if not isinstance(entries, dict):
            raise ValueError(f"holds a {type(entries).__name__}, not an object")
    except (OSError, ValueError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        detail = describe(err, limit=120)
        if path not in _reported:
            _reported.add(path)
            print(
                f"sfd: warning: ignoring the result cache {path!r} ({detail}); its results are computed again",
                file=sys.stderr,
                flush=True,
            )
        return {}
    return entries


def finite_value(entry: Any) -> Optional[float]:
    """An entry's value when it is a finite number (anything else is not a result)."""
    value = entry.get("value") if isinstance(entry, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


class ResultCache:
    """Values stored under a key made from ``parts``: a dict of plain values and digests.

    ``path``: a table read as it is (may be shipped with the project); ``store`` writes to ``writable``
    (default: ``teacher_fid.json`` in :func:`user_cache_dir`).
    """

    def __init__(self, path: str, writable: Optional[str] = None):
        self.path = path
        self.writable = writable or os.path.join(user_cache_dir(), "teacher_fid.json")

    @staticmethod
    def key(parts: Dict[str, Any]) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]

    def check(self) -> None:
        """Read both files once, so a corrupt one is reported when a run starts, not at its end."""
        read_entries(self.path)
        read_entries(self.writable)

    def lookup(self, parts: Dict[str, Any]) -> Optional[float]:
        """The stored value for ``parts`` (the given table first, then the user cache), or None."""
        key = self.key(parts)
        for path in (self.path, self.writable):
            value = finite_value(read_entries(path).get(key))
            if value is not None:
                return value
        return None

    def store(self, parts: Dict[str, Any], value: float) -> None:
        """Add a result to the user cache; a non-finite value is left out (it is no result to reuse)."""
        if not math.isfinite(value):
            print(f"sfd: warning: {parts.get('metric')} is {value}; not cached", file=sys.stderr, flush=True)
            return
        entries = read_entries(self.writable)
        entries[self.key(parts)] = {"value": value, "parts": parts}
        text = json.dumps(entries, indent=1, sort_keys=True) + "\n"
        atomic_write(self.writable, lambda f: f.write(text.encode()))
