"""The people the identity suite judges as erased: one, whose photos are ``--reference-folder`` (the suite as it
always was), or several (``--erased-people``), each with a subfolder of ``--reference-folder`` named after them
(``photos/brad pitt/``, ``photos/angelina jolie/``), so a list of 50 names needs one folder and one list."""

import os
from typing import Dict, List, Sequence, Union

from sfd_lightning.data.csv_table import read_table
from sfd_lightning.data.prompt_files import read_text
from sfd_lightning.errors import ConfigError

FIELD = "--erased-people"
FOLDER = "--reference-folder"


def read_names(value: Union[str, Sequence[str]], field: str = FIELD) -> List[str]:
    """The erased people's names: a list, comma-separated text, or a file: a CSV/TSV with a ``concept`` column (the
    list a run forgot, ``data.init_args.concepts``) or one name a line. None blank, none twice (case-insensitive)."""
    if not isinstance(value, str):
        names = [str(v).strip() for v in value]
    elif os.path.isfile(value) and value.lower().endswith((".csv", ".tsv")):
        table = read_table(value, field, kind="list of people (CSV/TSV)")
        if "concept" not in table.columns:
            raise ConfigError(field, f"{value!r} has no 'concept' column (its columns: {table.describe_columns()})")
        names = [row.cells["concept"].strip() for row in table.rows]
    elif os.path.isfile(value):
        names = [
            line.strip()
            for line in read_text(value, field, "list of people", "one name a line").splitlines()
            if line.strip()
        ]
    else:
        names = [n.strip() for n in value.split(",")]
    return check_names(names, field)


def check_names(names: List[str], field: str) -> List[str]:
    if not names:
        raise ConfigError(field, "is empty; give the erased people's names (comma-separated, or a file)")
    seen: Dict[str, str] = {}
    for name in names:
        if not name:
            raise ConfigError(field, "holds a blank name; give each erased person's name")
        if name.lower() in seen:
            raise ConfigError(field, f"lists {name!r} twice; give each erased person once")
        seen[name.lower()] = name
    return names


def person_folders(names: Sequence[str], parent: str, field: str = FOLDER) -> Dict[str, str]:
    """name -> the subfolder of ``parent`` named after them (case-insensitive); a name without one, or with two
    (differing in case), is a ConfigError on ``field``."""
    if not os.path.isdir(parent):
        raise ConfigError(field, f"{parent!r} is not a folder; with {FIELD} it holds one subfolder per person")
    subfolders: Dict[str, List[str]] = {}
    for entry in sorted(os.listdir(parent)):
        if os.path.isdir(os.path.join(parent, entry)):
            subfolders.setdefault(entry.lower(), []).append(entry)
    folders = {}
    for name in names:
        found = subfolders.get(name.lower(), [])
        if not found:
            raise ConfigError(
                field,
                f"{parent!r} has no subfolder named {name!r} (an erased person of {FIELD}); give each erased person "
                "a subfolder of photos named after them",
            )
        if len(found) > 1:
            raise ConfigError(field, f"{parent!r} has subfolders {found[0]!r} and {found[1]!r}: one {name!r} only")
        folders[name] = os.path.join(parent, found[0])
    return folders
