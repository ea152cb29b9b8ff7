"""Default optimisers, used when a config gives none."""

from typing import Callable, Iterable, Optional

import torch

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]


def adam_or(factory: Optional[OptimizerFactory], lr: float, betas=(0.0, 0.999), eps: float = 1e-8) -> OptimizerFactory:
    """The given factory, or Adam with the reference's betas (0, 0.999)."""
    if factory is not None:
        return factory
    return lambda params: torch.optim.Adam(params, lr=lr, betas=betas, eps=eps)
