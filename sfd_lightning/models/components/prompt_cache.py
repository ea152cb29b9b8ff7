"""Frozen text encoders' prompt embeddings, computed once per prompt and shared by the network's copies.

The teacher, the fake score and the generator are copies of one network; its text side is not copied
(``__deepcopy__`` returns it), never trained and never checkpointed. The empty prompt, classifier-free
guidance's null condition, is encoded as ``negative_prompt``.
"""

from collections import OrderedDict
from typing import List, Sequence, Tuple

import torch


class PromptCache:
    """Subclasses encode texts (:meth:`encode_texts`: one tuple of tensors per text); this keeps the last
    ``cache_size`` and stacks them per call."""

    def __init__(self, negative_prompt: str, cache_size: int):
        self.negative_prompt, self.cache_size = negative_prompt, cache_size
        self.cache: "OrderedDict[str, Tuple[torch.Tensor, ...]]" = OrderedDict()

    def __deepcopy__(self, memo) -> "PromptCache":
        return self  # one frozen text side for the teacher, fake score and generator

    def encode_texts(self, texts: List[str], device: torch.device) -> List[Tuple[torch.Tensor, ...]]:
        raise NotImplementedError

    @torch.no_grad()
    def embeddings(self, prompts: Sequence[str], device: torch.device, dtype: torch.dtype) -> Tuple[torch.Tensor, ...]:
        """Each part of the prompts' embeddings, stacked: (B, ...) per part, on ``device`` in ``dtype``."""
        texts = [p if p else self.negative_prompt for p in prompts]
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))  # unique, in order
        if missing:
            for text, parts in zip(missing, self.encode_texts(missing, device)):
                self.cache[text] = parts
                if len(self.cache) > self.cache_size:
                    self.cache.popitem(last=False)
        rows = [self.cache[t] for t in texts]
        return tuple(torch.stack(part).to(device=device, dtype=dtype) for part in zip(*rows))
