"""Progress as plain lines when the output is a file: a progress bar draws nothing there.

A scheduler's log or ``sfd fit ... > run.log`` gets one line every few iterations (and at least one
a minute): iteration, share done, iterations per second, time left, every loss and learning rate.
"""

import sys
import time
from typing import Optional

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_only

from sfd_lightning.models.unlearning_module import iteration_of


def format_metric(key: str, value: float) -> str:
    """A learning rate in scientific notation (``3.00e-04``), anything else to four significant digits."""
    return f"{value:.2e}" if key.startswith("lr/") else f"{value:.4g}"


def format_progress(iteration: int, total: int, done: int, elapsed_s: float, metrics: dict) -> str:
    """``iteration 200/600 (33%) | 3.1 it/s | ETA 2m09s | loss/... 0.1234 | lr/... 3.00e-04``; the rate is of the
    ``done`` iterations of this process (a resumed run started past zero)."""
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    left = (total - iteration) / rate if rate > 0 else 0.0
    parts = [
        f"iteration {iteration}/{total} ({iteration / max(total, 1):.0%})",
        f"{rate:.2f} it/s",
        f"ETA {int(left // 60)}m{int(left % 60):02d}s",
    ]
    for key in sorted(metrics):
        if key.startswith(("loss/", "lr/")):
            parts.append(f"{key} {format_metric(key, float(metrics[key]))}")
    return " | ".join(parts)


class ProgressLines(Callback):
    """A progress line every ``every_n_iterations`` SFD iterations (default: a twentieth of the run) and at least
    every ``every_s`` seconds, when stdout is not a terminal. ``sfd fit`` adds it to every run."""

    def __init__(self, every_n_iterations: Optional[int] = None, every_s: float = 60.0, stream=None):
        self.every_n_iterations, self.every_s, self.stream = every_n_iterations, every_s, stream
        self._start = self._last = 0.0
        self._total = self._every = self._first = 0
        self._active = False

    @rank_zero_only
    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        stream = self.stream or sys.stdout
        self._active = self.stream is not None or not (hasattr(stream, "isatty") and stream.isatty())
        self._total = int(trainer.num_training_batches * max(trainer.max_epochs or 1, 1))
        self._every = self.every_n_iterations or max(1, self._total // 20)
        self._first = iteration_of(trainer, pl_module)  # resumed runs start past zero
        self._start = self._last = time.monotonic()

    @rank_zero_only
    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        if not self._active:
            return
        iteration = iteration_of(trainer, pl_module)
        now = time.monotonic()
        if iteration % self._every and iteration != self._total and now - self._last < self.every_s:
            return
        self._last = now
        line = format_progress(
            iteration, self._total, iteration - self._first, now - self._start, trainer.callback_metrics
        )
        print(line, file=self.stream or sys.stdout, flush=True)
