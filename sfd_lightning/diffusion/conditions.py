"""Conditions are class labels (a (B,) long tensor) or prompts (a list of B strings), handled alike.

The null condition of classifier-free guidance is label ``-1`` or the empty prompt ``""``.
Text adapters map ``""`` to their unconditional (or negative-prompt) embedding.
"""

from dataclasses import dataclass
from typing import List, Optional, Union

import torch

Condition = Union[torch.Tensor, List[str]]
NULL_LABEL = -1
NULL_PROMPT = ""


def cat(a: Condition, b: Condition) -> Condition:
    return torch.cat([a, b]) if isinstance(a, torch.Tensor) else list(a) + list(b)


def take(c: Condition, index: torch.Tensor) -> Condition:
    """The entries at ``index`` (a 1-D long tensor), of the same kind."""
    return c[index.to(c.device)] if isinstance(c, torch.Tensor) else [c[i] for i in index.tolist()]


def cycled(c: Condition, n: int) -> Condition:
    """``n`` entries going round ``c`` in order: entry i is ``c[i % len(c)]``."""
    return take(c, torch.arange(n) % len(c))


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


@dataclass
class ConditionTokens:
    """Learned vectors standing in for a condition: the embedding attack's new "word" (textual inversion).

    ``tokens`` (B, D) live where a class-conditional network keeps its class embeddings (before the
    class MLP) or a text network its word embeddings; text networks pool each with the words of its
    ``context`` prompt (e.g. "a handwritten" for "a handwritten <token>"). Networks that take them
    (``DDPMUNet``, ``TextUNet``) also give ``condition_token(label_or_word)``, the vector of an existing
    condition to start from.
    """

    tokens: torch.Tensor
    context: Optional[List[str]] = None

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def to(self, device) -> "ConditionTokens":
        return ConditionTokens(self.tokens.to(device), self.context)
