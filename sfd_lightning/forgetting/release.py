"""The lineage a release records: ``lineage`` in an ``sfd export`` folder's ``sfd_generator.json``, ``sfd_lineage``
in an SFD checkpoint. Read before any weight, so a refused release costs nothing."""

import os
from typing import Any, Dict, List

from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting.lineage import check_lineage
from sfd_lightning.io.checkpoint import read_any
from sfd_lightning.io.folder import is_generator_folder, read_meta
from sfd_lightning.io.source import Source

CHECKPOINT_KEY = "sfd_lineage"
FOLDER_KEY = "lineage"


def stored_lineage(path: str, field: str) -> Any:
    """The lineage as stored in ``path`` (an export folder or a checkpoint file), or None if it has none; a folder
    that is no export is None too (a pretrained one-step network records nothing)."""
    source = Source(path, field)
    if os.path.isdir(path):
        return read_meta(source).get(FOLDER_KEY) if is_generator_folder(path) else None
    ckpt = read_any(source, mmap=True)
    return ckpt.get(CHECKPOINT_KEY) if isinstance(ckpt, dict) else None


def release_lineage(path: str, field: str) -> List[Dict[str, Any]]:
    """The checked lineage of a release a sequential step continues; a release without one is refused."""
    return check_lineage(stored_lineage(path, field), repr(path), field)


def start_lineage(path: str, field: str) -> List[Dict[str, Any]]:
    """The lineage a two-stage start (``init_ckpt``) carries on: its stage 1's steps, which forgot nothing; empty when
    it records none. A release that forgot something is refused: continuing it without its forget set would let the
    run undo it (``model.previous`` continues it)."""
    lineage = stored_lineage(path, field)
    if lineage is None:
        return []
    lineage = check_lineage(lineage, repr(path), field)
    if any(entry["forget"] for entry in lineage):
        raise ConfigError(
            field,
            f"{path!r} is a release that already forgot something; continue it with model.previous (and "
            "model.init_ckpt null), so what it forgot stays forgotten",
        )
    return lineage
