"""No verb deletes or writes over what it reads: an ``--out`` is refused, before any work, when writing it would take
one of the command's inputs (checkpoint, config, reference folder, prompt file) or the working directory with it."""

import os
from typing import Iterable, Optional

from sfd_lightning.errors import ConfigError


def real(path: str) -> str:
    """``path`` with ``~``, ``..`` and links resolved: two names of one file compare equal."""
    return os.path.realpath(os.path.expanduser(path))


def holds(folder: str, path: str) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (both resolved by :func:`real`)."""
    return os.path.commonpath([folder, path]) == folder


def check_out_spares_inputs(
    out: str, inputs: Iterable[Optional[str]], field: str = "--out", whole: bool = True
) -> None:
    """Refuse an ``out`` that would destroy an input of the command.

    ``whole``: ``out`` is a folder the command replaces or empties (``sfd export``); refused when it is, or holds, an
    input, or is the working directory or a folder above it, with or without ``--overwrite``. Otherwise ``out`` is a
    file the command writes; refused when it is one of the inputs (under any name). Inputs that name nothing on this
    machine (Hub ids, data set names, None) are skipped.
    """
    target = real(out)
    existing = [path for path in inputs if path and os.path.exists(path)]
    if not whole:
        same = [path for path in existing if os.path.exists(out) and os.path.samefile(out, path)]
        if same:
            raise ConfigError(
                field,
                f"{out!r} is the input {same[0]!r} of this command; writing it would destroy it: give another name",
            )
        return
    if holds(target, real(os.getcwd())):
        raise ConfigError(
            field,
            f"{out!r} is the working directory or a folder above it, which the command would "
            f"replace whole; give a folder of its own (new or empty)",
        )
    inside = [path for path in existing if holds(target, real(path))]
    if inside:
        raise ConfigError(
            field,
            f"{out!r} holds {inside[0]!r}, an input of this command, which replacing the folder "
            f"would delete; give another folder",
        )
