"""A name from a spec that also names a folder under the output folder (a comparison's method, a sweep): checked so
that it stays inside it."""

import re

from sfd_lightning.errors import ConfigError

NAME = re.compile(r"[A-Za-z0-9 _.-]+")  # no path separators


def folder_name(name: str) -> str:
    """The folder a name gets: lower-cased, spaces as ``_``."""
    return name.lower().replace(" ", "_")


def check_folder_name(name: object, field: str) -> str:
    """``name`` if it makes one safe folder: letters, digits, spaces, ``-``, ``_`` or ``.``, and not ``.`` or ``..``."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or folder_name(name) in (".", ".."):
        raise ConfigError(
            field,
            f"must be letters, digits, spaces, '-', '_' or '.' (not '.' or '..'): it names a folder; got {name!r}",
        )
    return name
