"""Files written whole or not at all: into a temporary file beside the destination, synced, then renamed."""
import os
import tempfile
from typing import Any, BinaryIO, Callable, Dict, Optional

import torch
from lightning.fabric.plugins import TorchCheckpointIO

from sfd_lightning.errors import ConfigError


def atomic_write(path: str, write: Callable[[BinaryIO], None], field: str = "output") -> None:
    """``write`` into a temporary file beside ``path``, then rename, so a crash never leaves half a file.

    A failed write (a full disk, no permission) leaves whatever was at ``path`` as it was and is one
    :class:`ConfigError` naming ``field`` and ``path``, not the chain of tracebacks of the write and its cleanup.
    """
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        os.close(fd)
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename makes it visible
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, path)
    except OSError as err:
        kept = f"the previous {os.path.basename(path)} there is intact" if os.path.exists(path) else "nothing was written there"
        raise ConfigError(field, f"cannot write {path!r} ({err.strerror or err}); {kept}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def atomic_save(obj: Any, path: str, field: str = "output") -> None:
    """``torch.save`` by :func:`atomic_write`."""
    atomic_write(path, lambda f: torch.save(obj, f), field)



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
