"""Strict loading: weights go into a network only if their names and shapes match it exactly and they are finite."""

from typing import Any, Iterable, List, Mapping

import torch
from torch import nn

from sfd_lightning.io.checkpoint import network_weights
from sfd_lightning.io.source import Source


def load_network(
    module: nn.Module,
    obj: Any,
    source: Source,
    target: str,
    prefixes: Iterable[str] = (),
    use_ema: bool = True,
    role: str = "model",
) -> None:
    """Strictly load one network's weights from a loaded checkpoint into ``module``.

    Bare epsilon-network weights (a reference checkpoint, a plain state dict) go into a denoiser
    adapter's ``net``.
    """
    state = network_weights(obj, source, prefixes, use_ema, role)
    inner = getattr(module, "net", None)
    if isinstance(inner, nn.Module) and state and not any(k.startswith("net.") for k in state):
        module, target = inner, f"{target}.net"
    load_state_into(module, state, source, target)


def check_state(module: nn.Module, state: Any, source: Source, target: str) -> None:
    """Refuse weights whose names or shapes differ from ``module``'s (which may live on the meta device); the
    error names the field, the target config and the first differing key."""
    path = source.path
    if not isinstance(state, Mapping):
        raise source.error(f"checkpoint {path!r} holds weights as a {type(state).__name__}, expected a dict of tensors")
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
        raise source.error(f"checkpoint {path!r} does not match the architecture in {target}: {detail}")
    check_finite(state, {name for name, _ in module.named_parameters()}, source)


def load_state_into(module: nn.Module, state: Mapping[str, torch.Tensor], source: Source, target: str) -> None:
    """Strictly load weights; a mismatch or a non-finite weight is refused by :func:`check_state`."""
    check_state(module, state, source, target)
    module.load_state_dict(state)


def check_finite(state: Mapping[str, torch.Tensor], parameters: Iterable[str], source: Source) -> None:
    """Refuse weights holding NaN anywhere, or +-inf in a parameter (a buffer such as a noise schedule may be
    infinite): a diverged or corrupt network would train, sample and score as if it worked."""
    parameters = set(parameters)
    for name, value in state.items():
        if not value.is_floating_point():
            continue
        bad = value.isnan() | (value.isinf() if name in parameters else False)
        count = int(bad.sum())
        if count:
            raise source.error(
                f"checkpoint {source.path!r} holds {count:,} non-finite value{'s' * (count > 1)} in "
                f"{name}: a diverged or corrupt network; give the checkpoint of a finite one"
            )


def load_matching(module: nn.Module, state: Mapping[str, torch.Tensor], source: Source) -> List[str]:
    """Copy the weights of ``state`` whose name and shape ``module`` shares (a warm start from a related
    network); returns the names of ``module``'s weights left as they were. None shared: a ConfigError."""
    own = module.state_dict()
    shared = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not shared:
        raise source.error(
            f"checkpoint {source.path!r} shares no weight (same name and shape) with {type(module).__name__}"
        )
    module.load_state_dict(shared, strict=False)
    return sorted(set(own) - set(shared))
