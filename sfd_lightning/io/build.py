"""Networks rebuilt from the ``{"class_path", "init_args"}`` config a file stores, from allowed classes only
(``allow_list``), with their weights loaded strictly."""

import warnings
from typing import Any, Callable, Mapping, Optional

import torch
from torch import nn

from sfd_lightning.errors import ConfigError, describe
from sfd_lightning.io.allow_list import class_paths, resolve_class
from sfd_lightning.io.source import Source
from sfd_lightning.io.strict import check_state, load_state_into


def build(config: Any, source: Source) -> Any:
    """Instantiate a ``{"class_path", "init_args"}`` config stored in ``source``, recursing into nested ones.

    Every class, nested ones included, is checked by :func:`allow_list.resolve_class` before any
    is imported or called; a refused one is a ConfigError naming the source's field and path and the class.
    """
    check_classes(config, source)
    return _instantiate(config, source)


def check_classes(config: Any, source: Source) -> None:
    """Refuse a stored config if any class_path in it, however deeply nested, is not allowed."""
    for class_path in class_paths(config):
        resolve_class(class_path, source)


def build_loaded(
    config: Any, state: Any, source: Source, target: str, part: Callable[[nn.Module], nn.Module] = lambda module: module
) -> nn.Module:
    """:func:`build` with ``state`` strictly loaded into the network (or into ``part(network)``, e.g. its ``net``).

    The weights' names and shapes are checked first against the network built on the meta device, which
    allocates nothing: a stored config that does not match its weights (``ch: 4096`` beside a small
    network's weights) is refused before gigabytes are allocated. ``target`` names the config in errors, and
    any failure is a one-line ConfigError.
    """
    if not (isinstance(config, Mapping) and "class_path" in config):
        raise source.error(f"{source.path!r} stores no class_path config of its network ({target})")
    check_classes(config, source)
    skeleton = _skeleton(config, source)
    if skeleton is not None:
        check_state(part(skeleton), state, source, target)
    try:
        module = _instantiate(config, source)
        if skeleton is not None:  # checked above, on the same architecture: not every weight again
            part(module).load_state_dict(state)
        else:
            load_state_into(part(module), state, source, target)
    except ConfigError:
        raise
    except Exception as err:  # the stored arguments, e.g. one the class does not take
        raise source.error(f"cannot rebuild the network stored in {source.path!r} ({describe(err)})") from None
    return module


def _skeleton(config: Any, source: Source) -> Optional[nn.Module]:
    """The network a config builds, on the meta device (shapes, no memory); None for one that cannot be built
    there (a constructor that computes with its tensors), checked once built."""
    try:
        # a constructor that loads pretrained weights (SD's UNet) warns that copies to meta tensors do nothing
        with torch.device("meta"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = _instantiate(config, source)
    except ConfigError:
        raise
    except Exception:
        return None
    return module


def _instantiate(config: Any, source: Source) -> Any:
    if isinstance(config, Mapping) and "class_path" in config:
        cls = resolve_class(config["class_path"], source)
        init_args = config.get("init_args") or {}
        if not isinstance(init_args, Mapping):
            raise source.error(
                f"{source.path!r}: init_args of {config['class_path']!r} must be a mapping, "
                f"got {type(init_args).__name__}"
            )
        return cls(**{str(k): _instantiate(v, source) for k, v in init_args.items()})
    if isinstance(config, Mapping):
        return {k: _instantiate(v, source) for k, v in config.items()}
    if isinstance(config, list):
        return [_instantiate(v, source) for v in config]
    return config
