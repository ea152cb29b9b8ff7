"""Elastic weight consolidation (Kirkpatrick et al., 2017, eq. 3), Selective Amnesia's memory of everything not
forgotten (Heng & Soh, 2023, eq. 6): sum_i F_i (theta_i - theta*_i)^2 with F the diagonal Fisher information of
the original model theta*."""

from typing import Iterable

import torch


def ewc_penalty(
    params: Iterable[torch.Tensor], anchors: Iterable[torch.Tensor], fisher: Iterable[torch.Tensor]
) -> torch.Tensor:
    """The penalty as a scalar; ``params``, ``anchors`` and ``fisher`` in the same order and shapes."""
    terms = [(f * (p - a).square()).sum() for p, a, f in zip(params, anchors, fisher)]
    return torch.stack(terms).sum()
