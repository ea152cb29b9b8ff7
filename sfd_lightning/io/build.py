"""Networks rebuilt from the ``{"class_path", "init_args"}`` config a file stores, from allowed classes only
(``allow_list``), with their weights loaded strictly."""
import warnings
from typing import Any, Callable, Mapping, Optional

import torch
from torch import nn

from sfd_lightning.errors import ConfigError, describe
from sfd_lightning.io.allow_list import class_paths, resolve_class
from sfd_lightning.io.strict import check_state, load_state_into


def build(config: Any, field: str, path: str) -> Any:
    """Instantiate a ``{"class_path", "init_args"}`` config stored in ``path``, recursing into nested ones.

    Every class, nested ones included, is checked by :func:`allow_list.resolve_class` before any
    is imported or called; a refused one is a ConfigError naming ``field``, ``path`` and the class.
    """
    check_classes(config, field, path)
    return _instantiate(config, field, path)


def check_classes(config: Any, field: str, path: str) -> None:
    """Refuse a stored config if any class_path in it, however deeply nested, is not allowed."""
    for class_path in class_paths(config):
        resolve_class(class_path, field, path)


def build_loaded(config: Any, state: Any, field: str, path: str, target: str,
                 part: Callable[[nn.Module], nn.Module] = lambda module: module) -> nn.Module:
    """:func:`build` with ``state`` strictly loaded into the network (or into ``part(network)``, e.g. its ``net``).

    The weights' names and shapes are checked first against the network built on the meta device, which
    allocates nothing: a stored config that does not match its weights (``ch: 4096`` beside a small
    network's weights) is refused before gigabytes are allocated. ``target`` names the config in errors, and
    any failure is a one-line ConfigError.
    """
    if not (isinstance(config, Mapping) and "class_path" in config):
        raise ConfigError(field, f"{path!r} stores no class_path config of its network ({target})")
    check_classes(config, field, path)
    skeleton = _skeleton(config, field, path)
    if skeleton is not None:
        check_state(part(skeleton), state, field, path, target)
    try:
        module = _instantiate(config, field, path)
        if skeleton is not None:  # checked above, on the same architecture: not every weight again
            part(module).load_state_dict(state)
        else:
            load_state_into(part(module), state, field, path, target)
    except ConfigError:
        raise
    except Exception as err:  # the stored arguments, e.g. one the class does not take
        raise ConfigError(field, f"cannot rebuild the network stored in {path!r} ({describe(err)})") from None
    return module


def _skeleton(config: Any, field: str, path: str) -> Optional[nn.Module]:
    """The network a config builds, on the meta device (shapes, no memory); None for one that cannot be built
    there (a constructor that computes with its tensors), checked once built."""
    try:
        # a constructor that loads pretrained weights (SD's UNet) warns that copies to meta tensors do nothing
        with torch.device("meta"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = _instantiate(config, field, path)
    except ConfigError:
        raise
    except Exception:
        return None
    return module


def _instantiate(config: Any, field: str, path: str) -> Any:
    if isinstance(config, Mapping) and "class_path" in config:
        cls = resolve_class(config["class_path"], field, path)
        init_args = config.get("init_args") or {}
        if not isinstance(init_args, Mapping):
            raise ConfigError(field, f"{path!r}: init_args of {config['class_path']!r} must be a mapping, got {type(init_args).__name__}")
        return cls(**{str(k): _instantiate(v, field, path) for k, v in init_args.items()})
    if isinstance(config, Mapping):
        return {k: _instantiate(v, field, path) for k, v in config.items()}
    if isinstance(config, list):
        return [_instantiate(v, field, path) for v in config]
    return config


