"""Reading and writing network weights: exported assets and Lightning checkpoints.

An exported asset is a plain dict, safe for ``torch.load(weights_only=True)``:
``{"format": "sfd-lightning/<kind>/v1", "config": {"class_path", "init_args"}, "state_dict": ...}``.
Every failure is a :class:`ConfigError` naming the config field that pointed at the file.
"""
import os
import tempfile
import warnings
from typing import Any, BinaryIO, Callable, Dict, Iterable, List, Mapping, Optional

import torch
from lightning.fabric.plugins import TorchCheckpointIO
from torch import nn

from sfd_lightning import reference
from sfd_lightning.allowed_classes import class_paths, resolve_class
from sfd_lightning.errors import ConfigError, describe

FORMAT = "sfd-lightning/{kind}/v1"


def atomic_write(path: str, write: Callable[[BinaryIO], None], field: str = "output") -> None:
    """``write`` into a temporary file beside ``path``, then rename, so a crash never leaves half a file.

    A failed write (a full disk, no permission) leaves whatever was at ``path`` as it was and is one
    :class:`ConfigError` naming ``field`` and ``path``, not the chain of tracebacks of the write and its cleanup.
    """
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        os.close(fd)
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename makes it visible
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, path)
    except OSError as err:
        kept = f"the previous {os.path.basename(path)} there is intact" if os.path.exists(path) else "nothing was written there"
        raise ConfigError(field, f"cannot write {path!r} ({err.strerror or err}); {kept}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def atomic_save(obj: Any, path: str, field: str = "output") -> None:
    """``torch.save`` by :func:`atomic_write`."""
    atomic_write(path, lambda f: torch.save(obj, f), field)


def export_weights(path: str, kind: str, config: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor]) -> None:
    """Save an asset: the network's class_path config and its weights."""
    weights = {k: v.detach().cpu().clone() for k, v in state_dict.items()}
    atomic_save({"format": FORMAT.format(kind=kind), "config": dict(config), "state_dict": weights}, path)


def read_any(path: str, field: str, mmap: bool = False) -> Any:
    """Load a checkpoint file with ``weights_only=True``; missing or unreadable files name ``field``.

    ``mmap``: map the tensors instead of reading them, for a look at a checkpoint's metadata.
    """
    if not path or not os.path.isfile(path):
        raise ConfigError(field, f"checkpoint file not found: {path!r}")
    if os.path.getsize(path) == 0:
        raise ConfigError(field, f"cannot read checkpoint {path!r}: it is empty (0 bytes); was its writing cut short?")
    with open(path, "rb") as f:
        head = f.read(4)
    if not head.startswith((b"PK\x03\x04", b"\x80")):  # torch.save's zip archive, or its older bare pickle
        raise ConfigError(field, f"cannot read checkpoint {path!r}: it is not a PyTorch checkpoint (torch.save "
                                 f"writes a zip archive; it starts with {head!r})")
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as err:  # torch raises many types for corrupt or foreign files
        raise ConfigError(field, f"cannot read checkpoint {path!r} ({describe(err)})") from None


def read_checkpoint(path: str, field: str, mmap: bool = False) -> Dict[str, Any]:
    """:func:`read_any` for files that must hold a dict (assets, Lightning checkpoints)."""
    obj = read_any(path, field, mmap)
    if not isinstance(obj, dict):
        raise ConfigError(field, f"checkpoint {path!r} holds a {type(obj).__name__}, expected a dict")
    return obj


def extract_state_dict(ckpt: Mapping[str, Any], prefixes: Iterable[str] = ()) -> Dict[str, torch.Tensor]:
    """The network weights in an asset, a Lightning checkpoint (first matching prefix), or a bare state dict."""
    state = ckpt.get("state_dict", ckpt)
    for prefix in prefixes:
        picked = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if picked:
            return picked
    return {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def network_weights(obj: Any, path: str, field: str, prefixes: Iterable[str] = (), use_ema: bool = True,
                    role: str = "model") -> Dict[str, torch.Tensor]:
    """Weights of one network in a loaded checkpoint of any supported kind, reference lists included."""
    if reference.is_reference_checkpoint(obj):
        try:
            return reference.reference_weights(obj, use_ema=use_ema, role=role)
        except ValueError as err:
            raise ConfigError(field, f"reference checkpoint {path!r}: {err}") from None
    if not isinstance(obj, Mapping):
        raise ConfigError(field, f"checkpoint {path!r} holds a {type(obj).__name__}, expected a dict or a reference checkpoint list")
    return extract_state_dict(obj, prefixes)


def load_network(module: nn.Module, obj: Any, path: str, field: str, target: str, prefixes: Iterable[str] = (),
                 use_ema: bool = True, role: str = "model") -> None:
    """Strictly load one network's weights from a loaded checkpoint into ``module``.

    Bare epsilon-network weights (a reference checkpoint, a plain state dict) go into a denoiser
    adapter's ``net``.
    """
    state = network_weights(obj, path, field, prefixes, use_ema, role)
    inner = getattr(module, "net", None)
    if isinstance(inner, nn.Module) and state and not any(k.startswith("net.") for k in state):
        module, target = inner, f"{target}.net"
    load_state_into(module, state, field, path, target)


def check_state(module: nn.Module, state: Any, field: str, path: str, target: str) -> None:
    """Refuse weights whose names or shapes differ from ``module``'s (which may live on the meta device); the
    error names the field, the target config and the first differing key."""
    if not isinstance(state, Mapping):
        raise ConfigError(field, f"checkpoint {path!r} holds weights as a {type(state).__name__}, expected a dict of tensors")
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [k for k in own if k in state and getattr(state[k], "shape", None) != own[k].shape]
    if missing or unexpected or shapes:
        if shapes:
            k = shapes[0]
            stored = tuple(state[k].shape) if isinstance(state[k], torch.Tensor) else f"a {type(state[k]).__name__}"
            detail = f"{k} has shape {stored} in the checkpoint but {tuple(own[k].shape)} in {target}"
        elif missing:
            detail = f"{len(missing)} weights of {target} are missing from the checkpoint, e.g. {missing[0]}"
        else:
            detail = f"the checkpoint has {len(unexpected)} weights {target} lacks, e.g. {unexpected[0]}"
        raise ConfigError(field, f"checkpoint {path!r} does not match the architecture in {target}: {detail}")
    check_finite(state, {name for name, _ in module.named_parameters()}, field, path)


def load_state_into(module: nn.Module, state: Mapping[str, torch.Tensor], field: str, path: str, target: str) -> None:
    """Strictly load weights; a mismatch or a non-finite weight is refused by :func:`check_state`."""
    check_state(module, state, field, path, target)
    module.load_state_dict(state)


def check_finite(state: Mapping[str, torch.Tensor], parameters: Iterable[str], field: str, path: str) -> None:
    """Refuse weights holding NaN anywhere, or +-inf in a parameter (a buffer such as a noise schedule may be
    infinite): a diverged or corrupt network would train, sample and score as if it worked."""
    parameters = set(parameters)
    for name, value in state.items():
        if not value.is_floating_point():
            continue
        bad = value.isnan() | (value.isinf() if name in parameters else False)
        count = int(bad.sum())
        if count:
            raise ConfigError(field, f"checkpoint {path!r} holds {count:,} non-finite value{'s' * (count > 1)} in "
                              f"{name}: a diverged or corrupt network; give the checkpoint of a finite one")


def load_matching(module: nn.Module, state: Mapping[str, torch.Tensor], field: str, path: str) -> List[str]:
    """Copy the weights of ``state`` whose name and shape ``module`` shares (a warm start from a related
    network); returns the names of ``module``'s weights left as they were. None shared: a ConfigError."""
    own = module.state_dict()
    shared = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not shared:
        raise ConfigError(field, f"checkpoint {path!r} shares no weight (same name and shape) with {type(module).__name__}")
    module.load_state_dict(shared, strict=False)
    return sorted(set(own) - set(shared))


def build(config: Any, field: str, path: str) -> Any:
    """Instantiate a ``{"class_path", "init_args"}`` config stored in ``path``, recursing into nested ones.

    Every class, nested ones included, is checked by :func:`allowed_classes.resolve_class` before any
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


def load_exported(path: str, field: str, kind: str) -> nn.Module:
    """Rebuild and load a network from an exported asset of the given kind."""
    ckpt = read_checkpoint(path, field)
    expected = FORMAT.format(kind=kind)
    if ckpt.get("format") != expected:
        raise ConfigError(field, f"{path!r} is not a {kind} asset (format {ckpt.get('format')!r}, expected {expected!r})")
    return build_loaded(ckpt.get("config"), ckpt.get("state_dict"), field, path, f"{path}'s own config")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoints written beside their destination, synced, then renamed into place.

    Lightning stages local checkpoints in the system temp folder and moves them; on clusters that is
    often another filesystem, where the move is a copy that a SIGKILL can cut short. Remote paths
    (``s3://`` and the like) keep Lightning's own writer.
    """

    def save_checkpoint(self, checkpoint: Dict[str, Any], path, storage_options: Optional[Any] = None) -> None:
        if "://" in str(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        atomic_save(checkpoint, str(path), "checkpoint")
