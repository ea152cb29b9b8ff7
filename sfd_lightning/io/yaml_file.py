"""YAML files the user gives (configs, sweep and compare specs), read safely and refused in one line.

``yaml.safe_load`` builds plain values only: a ``!!python/...`` tag is an error, never an object. A missing,
unreadable, non-UTF-8, malformed or wrongly shaped file is a :class:`ConfigError` naming the option that
gave it, before anything runs.
"""

from typing import Any, Dict

import yaml

from sfd_lightning.errors import ConfigError


def read_yaml(path: str, field: str) -> Any:
    """The plain value a YAML file holds."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except OSError as err:
        raise ConfigError(field, f"cannot read {path!r} ({err.strerror or type(err).__name__})") from None
    except UnicodeDecodeError as err:
        raise ConfigError(field, f"{path!r} is not UTF-8 text (byte {err.start}); a YAML file is") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(field, f"{path!r} is not valid YAML{where}: {problem}") from None


def read_yaml_mapping(path: str, field: str, what: str) -> Dict[str, Any]:
    """A YAML file that must hold a mapping (``what`` says of what, for the error)."""
    value = read_yaml(path, field)
    if value is None:
        raise ConfigError(field, f"{path!r} is empty; it must hold {what}")
    if not isinstance(value, dict):
        raise ConfigError(field, f"{path!r} holds a {type(value).__name__}; it must hold {what}")
    return value
