"""SFDModule in the reference implementation's pass order, for side-by-side speed comparisons.

Ours runs each network once on the retained and forget rows together (2B rows); the reference runs
the retained rows, then the forget rows, in two passes per network. The losses and gradients are
the same (a test); only the speed differs. ``make bench`` and ``make gpu-check`` time both.
Select it with ``--model.class_path=sfd_lightning.models.reference_order.ReferencePassOrder``.
"""

from typing import Callable

import torch

from sfd_lightning.models.sfd_batch import SFDBatch, StepDraws
from sfd_lightning.models.sfd_module import SFDModule


class ReferencePassOrder(SFDModule):
    """:class:`SFDModule` whose per-sample losses are computed on the retained rows, then the forget rows
    (one device only)."""

    def fake_score_loss(self, batch: SFDBatch, draws: StepDraws) -> torch.Tensor:
        return in_two_passes(super().fake_score_loss, batch, draws)

    def generator_loss(self, batch: SFDBatch, draws: StepDraws) -> torch.Tensor:
        return in_two_passes(super().generator_loss, batch, draws)

    def on_fit_start(self) -> None:
        if self.trainer.world_size > 1:
            raise RuntimeError("ReferencePassOrder is for single-device comparisons")
        super().on_fit_start()


def in_two_passes(
    loss_fn: Callable[[SFDBatch, StepDraws], torch.Tensor], batch: SFDBatch, draws: StepDraws
) -> torch.Tensor:
    """Per-sample ``loss_fn`` on the retained rows, then on the forget rows, concatenated."""
    if not batch.forgets or batch.n_retained == 0:
        return loss_fn(batch, draws)
    halves = zip(batch.halves(), draws.halves(batch.n_retained))
    return torch.cat([loss_fn(b, d) for b, d in halves])
