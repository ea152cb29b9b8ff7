"""Helpers for networks that are frozen at construction and kept out of checkpoints."""

import copy
import itertools
from typing import Dict, Iterable

import torch
from torch import nn


def freeze(module: nn.Module) -> nn.Module:
    """Evaluation mode and no parameter gradients; gradients may still flow through to inputs."""
    return module.eval().requires_grad_(False)


def shared_copy(module: nn.Module) -> nn.Module:
    """A copy of ``module``'s layers that holds the very same frozen parameters (``requires_grad`` false) and buffers
    (no frozen weight is copied; trainable ones are): the frozen base that LoRA adapters are added to, in the
    teacher's memory."""
    frozen = (p for p in module.parameters() if not p.requires_grad)
    memo = {id(t): t for t in itertools.chain(frozen, module.buffers())}
    return copy.deepcopy(module, memo)


def drop_prefixes(state_dict: Dict[str, torch.Tensor], prefixes: Iterable[str]) -> Dict[str, torch.Tensor]:
    prefixes = tuple(prefixes)
    return {k: v for k, v in state_dict.items() if not k.startswith(prefixes)}


def restore_prefixes(state_dict: Dict[str, torch.Tensor], module: nn.Module, prefixes: Iterable[str]) -> None:
    """Put the live frozen weights back into a checkpoint's state dict so strict loading still checks the rest."""
    prefixes = tuple(prefixes)
    for k, v in module.state_dict().items():
        if k.startswith(prefixes):
            state_dict.setdefault(k, v)
