"""Which classes a config stored in a file may rebuild: nothing runs from a checkpoint.

An asset or checkpoint is data, read with ``torch.load(weights_only=True)``, but its network is
rebuilt from the ``{"class_path", "init_args"}`` config it stores. Only ``torch.nn.Module``
classes defined in this package are rebuilt; a user's own networks are rebuilt only after an
explicit opt-in, like ``trust_remote_code`` in Hugging Face: the environment variable
``SFD_TRUST_CLASSES`` (comma-separated packages or modules, e.g. ``mylab.nets,other_pkg``),
which ``sfd sample`` and ``sfd eval`` also set with ``--trust-classes``. The module's name is
checked before it is imported, so a refused file imports nothing.
"""
import argparse
import importlib
import os
from typing import Tuple

from torch import nn

from sfd_lightning.errors import ConfigError

TRUST_ENV = "SFD_TRUST_CLASSES"
OWN_PACKAGE = "sfd_lightning"


def trusted_packages() -> Tuple[str, ...]:
    """This package plus the packages or modules named in ``SFD_TRUST_CLASSES``."""
    extra = [p.strip() for p in os.environ.get(TRUST_ENV, "").split(",") if p.strip()]
    return (OWN_PACKAGE, *extra)


def trust(packages: str) -> None:
    """Add comma-separated packages to ``SFD_TRUST_CLASSES`` for this process and its children."""
    names = [*trusted_packages()[1:], *(p.strip() for p in packages.split(",") if p.strip())]
    os.environ[TRUST_ENV] = ",".join(dict.fromkeys(names))


def add_trust_argument(parser: argparse.ArgumentParser) -> None:
    """``--trust-classes PKG[,PKG]``: the opt-in for a user's own network classes stored in files."""
    parser.add_argument("--trust-classes", default=None, metavar="PKG[,PKG]",
                        help="also rebuild nn.Module classes of these packages from the files read (like "
                             f"trust_remote_code: only for files you trust; default: {OWN_PACKAGE} only; "
                             f"env {TRUST_ENV})")


def apply_trust_argument(args: argparse.Namespace) -> None:
    """Apply a parsed ``--trust-classes``."""
    if args.trust_classes:
        trust(args.trust_classes)


def _within(module_name: str, packages: Tuple[str, ...]) -> bool:
    return any(module_name == p or module_name.startswith(p + ".") for p in packages)


def resolve_class(class_path: object, field: str, path: str) -> type:
    """The class ``class_path`` names, if it may be rebuilt from ``path``; else a one-line ConfigError."""
    packages = trusted_packages()
    allowed = (f"only torch.nn.Module classes of {', '.join(packages)} are rebuilt from a file "
               f"(trust your own package with --trust-classes or {TRUST_ENV})")
    if not isinstance(class_path, str) or "." not in class_path:
        raise ConfigError(field, f"{path!r} stores class_path {class_path!r}; {allowed}")
    module_name, _, name = class_path.rpartition(".")
    refused = f"{path!r} stores class {class_path!r}, which is not allowed: {allowed}"
    if not _within(module_name, packages):
        raise ConfigError(field, refused)
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as err:
        raise ConfigError(field, f"{path!r} stores class {class_path!r}, which cannot be imported ({err})") from None
    # a name re-exported from another package (``from subprocess import Popen``) is not ours
    if not (isinstance(cls, type) and issubclass(cls, nn.Module) and _within(cls.__module__, packages)):
        raise ConfigError(field, refused)
    return cls
