"""Which classes a config stored in a file may rebuild: nothing runs from a checkpoint.

An asset or checkpoint is data, read with ``torch.load(weights_only=True)``, but its network is
rebuilt from the ``{"class_path", "init_args"}`` config it stores. Only ``torch.nn.Module``
classes defined in this package are rebuilt; a user's own networks are rebuilt only after an
explicit opt-in, like ``trust_remote_code`` in Hugging Face: the environment variable
``SFD_TRUST_CLASSES`` (comma-separated packages or modules, e.g. ``mylab.nets,other_pkg``),
which ``sfd sample`` and ``sfd eval`` also set with ``--trust-classes``. The module's name is
checked before it is imported, so a refused file imports nothing: it must lie in an allowed package, be a
Python source file there (not ``__main__``, which runs the CLI, or another dunder module), and define the
class at its top level, which is read from the source without running it.
"""

import argparse
import ast
import importlib
import importlib.util
import os
import sys
from typing import Any, Iterator, Mapping, Tuple

from torch import nn

from sfd_lightning.io.source import Source

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
    parser.add_argument(
        "--trust-classes",
        default=None,
        metavar="PKG[,PKG]",
        help="also rebuild nn.Module classes of these packages from the files read (like "
        f"trust_remote_code: only for files you trust; default: {OWN_PACKAGE} only; "
        f"env {TRUST_ENV})",
    )


def apply_trust_argument(args: argparse.Namespace) -> None:
    """Apply a parsed ``--trust-classes``."""
    if args.trust_classes:
        trust(args.trust_classes)


def _allowed(packages: Tuple[str, ...]) -> str:
    return (
        f"only torch.nn.Module classes of {', '.join(packages)} are rebuilt from a file "
        f"(trust your own package with --trust-classes or {TRUST_ENV})"
    )


def _within(module_name: str, packages: Tuple[str, ...]) -> bool:
    return any(module_name == p or module_name.startswith(p + ".") for p in packages)


def _statements(body: list) -> Iterator[ast.stmt]:
    """Module-level statements, through if/try/with blocks (conditional imports), not into functions or classes."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            nested = [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", [])]
            yield from _statements(nested + [s for h in getattr(node, "handlers", []) for s in h.body])


def defines(source: str, name: str) -> bool:
    """Whether Python ``source`` binds ``name`` at its top level (a class, an assignment, an import), read
    without running it; a star import or a module ``__getattr__`` may bind anything, so they count."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in _statements(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in (
            name,
            "__getattr__",
        ):
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) in (name, "*") for a in node.names):
            return True
    return False


def _source_of(module_name: str) -> str:
    """The source of a module, found without importing it (only its parent packages); '' if there is none."""
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return ""
    origin = getattr(spec, "origin", None) or ""
    if not origin.endswith(".py"):
        return ""  # missing, a namespace package, built in, compiled: nothing to read
    try:
        with open(origin, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return ""


def check_class_path(class_path: object, source: Source) -> Tuple[str, str]:
    """(module, name) of ``class_path`` if its module may be imported to rebuild a class from ``source``, decided
    without importing it; else a one-line ConfigError."""
    path = source.path
    packages = trusted_packages()
    allowed = _allowed(packages)
    if not isinstance(class_path, str) or "." not in class_path:
        raise source.error(f"{path!r} stores class_path {class_path!r}; {allowed}")
    module_name, _, name = class_path.rpartition(".")
    parts = module_name.split(".")
    if not _within(module_name, packages) or any(p.startswith("__") or not p.isidentifier() for p in parts):
        raise source.error(f"{path!r} stores class {class_path!r}, which is not allowed: {allowed}")
    code = _source_of(module_name)
    if not code:
        raise source.error(
            f"{path!r} stores class {class_path!r}, which cannot be imported (no Python module {module_name!r})"
        )
    if not defines(code, name):
        raise source.error(
            f"{path!r} stores class {class_path!r}, which cannot be imported ({module_name!r} defines no {name!r})"
        )
    return module_name, name


def resolve_class(class_path: object, source: Source) -> type:
    """The class ``class_path`` names, if it may be rebuilt from ``source``; else a one-line ConfigError.

    :func:`check_class_path` decides before anything is imported."""
    module_name, name = check_class_path(class_path, source)
    packages = trusted_packages()
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as err:
        raise source.error(f"{source.path!r} stores class {class_path!r}, which cannot be imported ({err})") from None
    # a name re-exported from another package (``from subprocess import Popen``) is not ours
    if not (isinstance(cls, type) and issubclass(cls, nn.Module) and _within(cls.__module__, packages)):
        raise source.error(f"{source.path!r} stores class {class_path!r}, which is not allowed: {_allowed(packages)}")
    return cls


def class_paths(config: Any) -> Iterator[object]:
    """Every ``class_path`` (and Lightning's ``_class_path``) in a nested config, however deep."""
    if isinstance(config, Mapping):
        for key, value in config.items():
            if key in ("class_path", "_class_path"):
                yield value
            else:
                yield from class_paths(value)
    elif isinstance(config, (list, tuple)):
        for value in config:
            yield from class_paths(value)


def check_stored_hyperparameters(hparams: Any, source: Source) -> None:
    """Refuse a checkpoint's stored hyper-parameters, which Lightning parses (importing every class they name) to
    resume from it, if one names a module that is neither imported already (by the user's own config) nor
    allowed by :func:`check_class_path`; decided without importing anything."""
    for class_path in class_paths(hparams):
        module_name = class_path.rpartition(".")[0] if isinstance(class_path, str) else ""
        if module_name not in sys.modules or module_name == "__main__":
            check_class_path(class_path, source)
