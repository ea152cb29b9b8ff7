"""What one SFD update works on: the generator's noise, the conditions of each network, and the
update's own random draws (Chen, Zhang & Zhou, ICLR 2025, Alg. 1).

Rows are the retained samples, then (while forgetting) as many forget samples. On the forget rows
the generator and fake score see the forget condition c_f and the teacher the override c_o; the
unconditional branch of classifier-free guidance is the null condition, or a negative prompt on
the forget rows (the reference's nudity run).
"""

from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Callable, Mapping, Optional, Tuple, Union

import torch

from sfd_lightning.diffusion import conditions
from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.errors import ConfigError

# The teacher's condition on the forget rows: given (prompts with the concept replaced), or picked
# by an override policy from the fake score's detached x0_hat of those rows.
Override = Union[Condition, Callable[[torch.Tensor], Condition]]


@dataclass(frozen=True)
class SFDBatch:
    """One update's inputs: ``z`` (N, C, H, W) and per-row conditions; the first ``n_retained`` rows are retained."""

    z: torch.Tensor
    labels: Condition  # (N,) the generator's and the fake score's conditions
    null_labels: Condition  # (N,) the unconditional branch of guidance
    n_retained: int
    override: Optional[Override] = None  # the teacher's condition on the forget rows

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def forgets(self) -> bool:
        return len(self) > self.n_retained

    def teacher(self, fake_x0: torch.Tensor) -> Condition:
        """The teacher's conditions: the retained rows' own, then the override of the forget rows."""
        n = self.n_retained
        if not self.forgets:
            return self.labels
        override = self.override(fake_x0[n:]) if callable(self.override) else self.override
        return conditions.cat(self.labels[:n], override)

    def dropped(self, mask: torch.Tensor) -> "SFDBatch":
        """Rows where ``mask`` is True conditioned on the null condition (CFG's condition dropout)."""
        return replace(
            self, labels=conditions.dropped(self.labels, mask), null_labels=conditions.dropped(self.null_labels, mask)
        )

    def with_forget_rows_of(self, other: "SFDBatch") -> "SFDBatch":
        """This batch's retained rows, then ``other``'s forget rows (their noise, conditions and override)."""
        n, m = self.n_retained, other.n_retained
        if len(self) - n != len(other) - m:
            raise ValueError(f"forget rows differ: {len(self) - n} against {len(other) - m}")
        return SFDBatch(
            torch.cat([self.z[:n], other.z[m:]]),
            conditions.cat(self.labels[:n], other.labels[m:]),
            conditions.cat(self.null_labels[:n], other.null_labels[m:]),
            n,
            other.override,
        )

    def halves(self) -> Tuple["SFDBatch", "SFDBatch"]:
        """The retained rows and the forget rows as two batches (the reference's pass order)."""
        n = self.n_retained
        return (
            SFDBatch(self.z[:n], self.labels[:n], self.null_labels[:n], n),
            SFDBatch(self.z[n:], self.labels[n:], self.null_labels[n:], 0, self.override),
        )


@dataclass(frozen=True)
class StepDraws:
    """One update's random draws besides the generator's noise: per row the loss's noise level and
    noise, and which rows' conditions are dropped (fake-score update with guidance only)."""

    sigma: torch.Tensor  # (N,)
    noise: torch.Tensor  # (N, C, H, W)
    drop: Optional[torch.Tensor] = None  # (N,) bool

    def halves(self, n: int) -> Tuple["StepDraws", "StepDraws"]:
        drop = (None, None) if self.drop is None else (self.drop[:n], self.drop[n:])
        return (StepDraws(self.sigma[:n], self.noise[:n], drop[0]), StepDraws(self.sigma[n:], self.noise[n:], drop[1]))


def build_sfd_batch(
    update: Mapping[str, Any],
    forgets: bool,
    forget_label: int,
    policy: Callable[[torch.Tensor, torch.Tensor], Condition],
) -> SFDBatch:
    """An update's :class:`SFDBatch` from its data batch: noise ``z`` (2B rows while forgetting, else B),
    retained ``labels`` (B), ``forget_labels`` (prompts, or the forgotten class of each forget row when a run forgets
    several; else every row ``forget_label``), for prompts ``override_labels`` and optionally ``negative_labels``;
    class batches get the override ``policy(fake_x0, forget_rows_classes)``."""
    z, labels = update["z"], update["labels"]
    null = conditions.null_like(labels)
    if not forgets:
        return SFDBatch(z[: len(labels)], labels, null, len(labels))
    if len(z) != 2 * len(labels):
        raise ConfigError(
            "data",
            f"a batch with forgetting needs noise for the retained and the forget rows "
            f"({2 * len(labels)}), got {len(z)}",
        )
    forget = update.get("forget_labels", conditions.filled_like(labels, forget_label))
    override = update.get("override_labels")
    if override is None:
        override = partial(policy, rows=forget)
    negative = update.get("negative_labels", null)
    return SFDBatch(z, conditions.cat(labels, forget), conditions.cat(null, negative), len(labels), override)
