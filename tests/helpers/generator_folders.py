"""Exported generator folders written in the tests, from the shipped digits teacher (no training run needed)."""

import json
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import torch
from project import ASSETS


def write_generator_folder(out: Path, edit: Optional[Callable[[Dict[str, Any]], None]] = None) -> Path:
    """A folder ``sfd export`` could have written, with the teacher as the generator; ``edit`` changes its
    ``sfd_generator.json`` in place before it is written."""
    from sfd_lightning.io.folder import FORMAT, write_folder

    teacher = torch.load(ASSETS / "digits_teacher.pt", weights_only=True)
    meta = {
        "format": FORMAT,
        "denoiser": teacher["config"],
        "t_init": 440,
        "num_classes": 10,
        "forget_label": 0,
        "override_label": 1,
        "settings": {},
    }
    if edit is not None:
        edit(meta)
    write_folder(meta, teacher["state_dict"], str(out))
    return out


def rewrite_config(folder: Path, text: str) -> None:
    """Replace the folder's ``sfd_generator.json`` with ``text`` (which need not be JSON)."""
    (folder / "sfd_generator.json").write_text(text)


def config_of(folder: Path) -> Dict[str, Any]:
    return json.loads((folder / "sfd_generator.json").read_text())
