"""Files written whole or not at all: into a temporary file beside the destination, synced, then renamed.

Every file gets the permissions an ordinary ``open`` gives under the process's umask (``0o666 & ~umask``), not the
private ``0o600`` of the temporary file it was written as (``mkstemp``; safetensors too creates its files ``0o600``):
a server running as another user (ComfyUI, a shared cluster) reads what we write as it reads other files.
"""

import os
import tempfile
from contextlib import contextmanager
from typing import Any, BinaryIO, Callable, Dict, Iterator, Optional

import torch
from lightning.fabric.plugins import TorchCheckpointIO

from sfd_lightning.errors import ConfigError, describe


def ordinary_mode(folder: bool = False) -> int:
    """The mode ``open`` (``mkdir`` for a ``folder``) gives a new file under the process's umask."""
    umask = os.umask(0)  # reading the umask means setting it: put it straight back
    os.umask(umask)
    return (0o777 if folder else 0o666) & ~umask


def write_errors() -> tuple:
    """What a failed write raises: ``OSError``, or safetensors' own error around one
    (``File too large (os error 27)``)."""
    from safetensors import SafetensorError

    return OSError, SafetensorError


class WriteError(ConfigError):
    """A write that failed (a full disk, no permission); ``reason`` says why, for a caller that reports it about
    a larger whole (an export folder)."""

    def __init__(self, field: str, message: str, reason: str):
        super().__init__(field, message)
        self.reason = reason


def write_failure(path: str, err: BaseException, field: str) -> WriteError:
    """One line naming ``field`` and ``path``: what went wrong and that what was at ``path`` is as it was."""
    reason = getattr(err, "reason", None) or getattr(err, "strerror", None) or describe(err)
    kept = (
        f"the previous {os.path.basename(path)} there is intact"
        if os.path.exists(path)
        else "nothing was written there"
    )
    return WriteError(field, f"cannot write {path!r} ({reason}); {kept}", reason)


@contextmanager
def atomic_path(path: str, field: str = "output") -> Iterator[str]:
    """A temporary file name beside ``path`` for a writer that takes a name (safetensors' ``save_file``); when the
    block ends it is synced, given :func:`ordinary_mode` and renamed to ``path``.

    A failed write leaves whatever was at ``path`` as it was and is one :class:`ConfigError` naming ``field`` and
    ``path``, not the chain of tracebacks of the write and its cleanup.
    """
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        os.close(fd)
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # on disk before the rename makes it visible
        finally:
            os.close(fd)
        os.chmod(tmp, ordinary_mode())
        os.replace(tmp, path)
    except write_errors() as err:
        raise write_failure(path, err, field) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def atomic_write(path: str, write: Callable[[BinaryIO], None], field: str = "output") -> None:
    """``write`` into the file of :func:`atomic_path`, so a crash never leaves half a file at ``path``."""
    with atomic_path(path, field) as tmp, open(tmp, "wb") as f:
        write(f)


def atomic_save(obj: Any, path: str, field: str = "output") -> None:
    """``torch.save`` by :func:`atomic_write`."""
    atomic_write(path, lambda f: torch.save(obj, f), field)


def save_safetensors(tensors: Dict[str, torch.Tensor], path: str, field: str = "output") -> None:
    """safetensors' ``save_file`` by :func:`atomic_path`: the tensors as contiguous CPU copies, nothing to execute."""
    from safetensors.torch import save_file

    with atomic_path(path, field) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, tmp)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoints written beside their destination, synced, then renamed into place.

    Lightning stages local checkpoints in the system temp folder and moves them; on clusters that is
    often another filesystem, where the move is a copy that a SIGKILL can cut short. Remote paths
    (``s3://`` and the like) keep Lightning's own writer.
    """

    def save_checkpoint(self, checkpoint: Dict[str, Any], path, storage_options: Optional[Any] = None) -> None:
        if "://" in str(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        atomic_save(checkpoint, str(path), "checkpoint")
