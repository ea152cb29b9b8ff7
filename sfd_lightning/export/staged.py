"""An export folder written whole or not at all: built in a fresh folder beside ``--out``, then put in its place,
so no file of an earlier folder (a README, a stale ``unet/``) survives in it and a failure leaves the old one as
it was."""
import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Iterator

from sfd_lightning.errors import ConfigError


def check_out(out: str, overwrite: bool, field: str = "--out") -> None:
    """Refuse, before any work, an ``out`` that is a file, or a non-empty folder unless ``overwrite``."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise ConfigError(field, f"{out!r} exists and is not a folder")
    if os.path.isdir(out) and os.listdir(out) and not overwrite:
        raise ConfigError(field, f"{out!r} is not empty; give an empty or new folder, or --overwrite to replace it whole")


@contextmanager
def staged_folder(out: str) -> Iterator[str]:
    """A fresh folder beside ``out`` to write into; on success it becomes ``out`` (what was there is removed),
    on an exception it is removed and ``out`` is untouched."""
    out = os.path.abspath(out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.", dir=os.path.dirname(out))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # a folder's usual permissions, not mkdtemp's private 0700
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if os.path.isdir(out):
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.old.", dir=os.path.dirname(out))
        os.replace(out, os.path.join(old, "folder"))
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old)
