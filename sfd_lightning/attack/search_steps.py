"""The steps of an attack's optimisation (embedding, adversarial prompt, fine-tuning): progress lines on a long search,
and a stop where its state goes non-finite (NaN or infinite embeddings, weights or loss: a learning rate far too large).

A diverged search's later budgets must not be scored: a destroyed token or network draws noise the judges call
"not the concept", which would read as robust forgetting. The search stops, the budgets it reached keep their
results, and the later ones are rows marked ``diverged`` in the table.
"""

from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Sequence, Tuple, TypeVar

import torch

from sfd_lightning.metrics.eval_progress import eval_progress

T = TypeVar("T")


def search_steps(milestones: Sequence[int], desc: Optional[str] = None) -> Iterator[int]:
    """Steps 1 .. the last of ``milestones``; with ``desc``, a progress bar on a terminal, else a line at each quarter
    (``desc: k/total steps (elapsed)``) on stderr."""
    last = max(milestones, default=0)
    return eval_progress(range(1, last + 1), last, desc, unit="step")


class Diverged(Exception):
    """The state went non-finite at ``step``; ``done`` holds the results of the budgets reached before it."""

    def __init__(self, step: int, done: Dict[int, Any]):
        super().__init__(f"non-finite state at step {step}")
        self.step, self.done = step, done


def check_finite(state: Iterable[torch.Tensor], step: int, done: Dict[int, Any]) -> None:
    """Raise :class:`Diverged` unless every tensor of ``state`` is finite after ``step``."""
    flags = [torch.isfinite(t).all() for t in state]
    if flags and not bool(torch.stack(flags).all()):  # one device sync a step, not one per tensor
        raise Diverged(step, done)


def until_diverged(search: Callable[[], Dict[int, T]]) -> Tuple[Dict[int, T], Optional[int]]:
    """(the results of each budget ``search()`` reached, the step where it diverged or None)."""
    try:
        return search(), None
    except Diverged as stop:
        return stop.done, stop.step
