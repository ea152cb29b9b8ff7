"""The one check every metric (and ``sfd sample``) runs on the images it is given: none may hold a NaN or
infinite pixel.

A classifier's logits of a NaN image are NaN, and ``argmax`` of NaN logits is a class like any other
(often 0 or the override), so a generator that outputs NaN would score as perfect forgetting; FID and
CLIP scores of such images are NaN or meaningless too. Metrics refuse them instead.
"""

from typing import Callable, Optional

import torch

from sfd_lightning.errors import ConfigError


class NonFiniteImagesError(ConfigError):
    """Images (or a classifier's outputs on them) with NaN or infinite values reached a metric."""


def finite_rows(values: torch.Tensor) -> torch.Tensor:
    """Which items (rows along the first dimension) hold only finite values: (N,) bool."""
    finite = torch.isfinite(values)
    return finite.flatten(1).all(dim=1) if values.dim() > 1 else finite  # flatten: also for N = 0


def count_nonfinite(values: torch.Tensor) -> int:
    """How many items (rows along the first dimension) hold any NaN or infinite value."""
    if values.numel() == 0:
        return 0
    return int((~finite_rows(values)).sum())


def require_finite(
    values: torch.Tensor,
    field: str,
    what: str = "images",
    consequence: str = "so they are not scored",
    reduce: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
) -> None:
    """Raise :class:`NonFiniteImagesError` naming ``field`` when any of ``values`` (N, ...) is not finite,
    saying how many of the N ``what`` are and the ``consequence``, so nothing is used as if it were an image.

    ``reduce``: sums the (bad, N) counts over DDP ranks (the strategy's ``reduce``), so that every rank raises
    alike: a rank that raised alone would leave the others waiting in their next collective call.
    """
    counts = torch.tensor([count_nonfinite(values), len(values)], dtype=torch.float64, device=values.device)
    if reduce is not None:
        counts = reduce(counts)
    check_count(int(counts[0]), int(counts[1]), field, what, consequence)


def check_count(bad: int, total: int, field: str, what: str, consequence: str = "so they are not scored") -> None:
    """Raise :class:`NonFiniteImagesError` when ``bad`` of ``total`` items were not finite (a metric's synced count)."""
    if bad:
        raise NonFiniteImagesError(field, f"{bad} of {total} {what} are not finite (NaN or inf), {consequence}")


def ranks_sum(trainer) -> Optional[Callable[[torch.Tensor], torch.Tensor]]:
    """The ``reduce`` of :func:`require_finite` for a trainer's ranks (None on one process)."""
    if trainer.world_size <= 1:
        return None
    return lambda counts: trainer.strategy.reduce(counts, reduce_op="sum")
