"""Conditions are class labels (a (B,) long tensor) or prompts (a list of B strings), handled alike.

The null condition of classifier-free guidance is label ``-1`` or the empty prompt ``""``.
Text adapters map ``""`` to their unconditional (or negative-prompt) embedding.
"""
from typing import List, Union

import torch

Condition = Union[torch.Tensor, List[str]]
NULL_LABEL = -1
NULL_PROMPT = ""


def cat(a: Condition, b: Condition) -> Condition:
    return torch.cat([a, b]) if isinstance(a, torch.Tensor) else list(a) + list(b)


def filled_like(c: Condition, value) -> Condition:
    """A condition of the same kind and length, every entry ``value``."""
    return torch.full_like(c, value) if isinstance(c, torch.Tensor) else [value] * len(c)


def null_like(c: Condition) -> Condition:
    return filled_like(c, NULL_LABEL if isinstance(c, torch.Tensor) else NULL_PROMPT)


def dropped(c: Condition, mask: torch.Tensor) -> Condition:
    """Entries where ``mask`` is True replaced by the null condition (label dropout for CFG)."""
    if isinstance(c, torch.Tensor):
        return torch.where(mask, NULL_LABEL, c)
    return [NULL_PROMPT if m else p for p, m in zip(c, mask.tolist())]
