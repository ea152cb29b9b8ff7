"""An export folder written whole or not at all: built in a fresh folder beside ``--out``, then put in its place,
so no file of an earlier folder (a README, a stale ``unet/``) survives in it and a failure leaves the old one as
it was."""

import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Iterator

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.atomic import WriteError, ordinary_mode, write_errors, write_failure


def check_out(out: str, overwrite: bool, field: str = "--out") -> None:
    """Refuse, before any work, an ``out`` that is a file, or a non-empty folder unless ``overwrite``."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise ConfigError(field, f"{out!r} exists and is not a folder")
    if os.path.isdir(out) and os.listdir(out) and not overwrite:
        raise ConfigError(
            field, f"{out!r} is not empty; give an empty or new folder, or --overwrite to replace it whole"
        )


def give_ordinary_modes(folder: str) -> None:
    """Every folder and file under ``folder`` with the mode the umask gives ordinary ones: ``mkdtemp`` makes 0700
    folders and safetensors (inside diffusers' ``save_pretrained`` too) 0600 files, which another user's server
    could not read."""
    os.chmod(folder, ordinary_mode(folder=True))
    for root, folders, files in os.walk(folder):
        for name, mode in [(n, ordinary_mode(folder=True)) for n in folders] + [(n, ordinary_mode()) for n in files]:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, mode)


@contextmanager
def staged_folder(out: str) -> Iterator[str]:
    """A fresh folder beside ``out`` to write into; on success it becomes ``out`` (what was there is removed),
    on an exception it is removed and ``out`` is untouched. A failed write (a full disk) is one line naming
    ``--out``."""
    out = os.path.abspath(out)
    try:
        os.makedirs(os.path.dirname(out), exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.", dir=os.path.dirname(out))
    except OSError as err:
        raise write_failure(out, err, "--out") from None
    try:
        yield staging
        give_ordinary_modes(staging)
    except BaseException as err:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(err, (WriteError, *write_errors())):
            raise write_failure(out, err, "--out") from None
        raise
    old = None
    if os.path.isdir(out):
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.old.", dir=os.path.dirname(out))
        os.replace(out, os.path.join(old, "folder"))
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old)
