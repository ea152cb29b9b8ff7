"""Preemption: a run stopped by a signal saves ``last.ckpt`` where it stopped, says so, and exits non-zero.

Lightning ends the current iteration on SIGTERM and raises ``SIGTERMException``, an exit with status 0
that a scheduler would take for success. Under ``sfd fit``, :func:`graceful_sigint` makes the first
Ctrl+C stop the same way, :class:`InterruptCallback` saves and marks the run, and the CLI exits with
:func:`exit_status` (143 for SIGTERM, 130 for SIGINT). Any other failure saves nothing: the last good
checkpoint stays as it was.
"""

import os
import signal
import sys
from typing import List, Optional

from lightning.fabric.plugins.environments import SLURMEnvironment
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

from sfd_lightning.models.unlearning_module import iteration_of

_received: List[int] = []  # signals turned into a graceful stop in this process


def graceful_sigint() -> None:
    """Make the first SIGINT (Ctrl+C) stop training like SIGTERM: after the current iteration, with a
    checkpoint. A second one, or one before training starts, interrupts at once."""

    def handler(signum, frame):
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):  # Lightning's handler not installed
            raise KeyboardInterrupt
        _received.append(signum)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGINT, handler)


def interrupting_signal(exception: BaseException) -> Optional[str]:
    """``"SIGTERM"`` or ``"SIGINT"`` if ``exception`` is a signal's graceful stop, else None."""
    if isinstance(exception, SIGTERMException):
        return signal.Signals(_received[0] if _received else signal.SIGTERM).name
    return None


def exit_status() -> int:
    """The shell's status for the signal that stopped the run: 128 + its number."""
    return 128 + (_received[0] if _received else signal.SIGTERM)


def last_checkpoint_path(trainer: Trainer) -> str:
    """Where ``ModelCheckpoint`` keeps ``last.ckpt`` (the run folder's ``checkpoints/`` without one)."""
    callback = trainer.checkpoint_callback
    if isinstance(callback, ModelCheckpoint) and callback.dirpath:
        return os.path.join(callback.dirpath, callback.CHECKPOINT_NAME_LAST + callback.FILE_EXTENSION)
    return os.path.join(trainer.default_root_dir, "checkpoints", "last.ckpt")


class InterruptCallback(Callback):
    """On SIGTERM (a scheduler's preemption) or, under ``sfd``, Ctrl+C: save ``last.ckpt`` at the iteration
    reached, print how to resume, and record ``interrupted`` in the logger's summary (W&B). ``sfd fit``
    adds it to every run.

    Under SLURM, Lightning's auto-requeue (``SLURMEnvironment``) saves ``hpc_ckpt_<n>.ckpt`` and requeues
    the job when the requeue signal (SIGUSR1) arrives, from inside the signal handler, so possibly between
    an iteration's fake-score and generator updates; this callback holds the signal until the iteration
    ends, then lets Lightning's handler run.
    """

    def __init__(self):
        self._requeue_handler = None
        self._pending: List[tuple] = []

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        handler = signal.getsignal(signal.SIGUSR1)
        if SLURMEnvironment.detect() and callable(handler):  # Lightning's requeue handler is installed
            self._requeue_handler, self._pending = handler, []
            signal.signal(signal.SIGUSR1, lambda signum, frame: self._pending.append((signum, frame)))

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        if self._pending and self._requeue_handler is not None:
            signum, frame = self._pending.pop()
            self._pending.clear()
            self._requeue_handler(signum, frame)  # at an iteration's end: saves hpc_ckpt, requeues

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._requeue_handler is not None:
            signal.signal(signal.SIGUSR1, self._requeue_handler)
            self._requeue_handler = None

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        name = interrupting_signal(exception)
        if name is None:
            return
        iteration = iteration_of(trainer, pl_module)
        path = last_checkpoint_path(trainer)
        trainer.save_checkpoint(path)
        if trainer.is_global_zero:
            print(
                f"sfd: interrupted by {name} at iteration {iteration}; saved {path} "
                f"(resume: the same command with --ckpt_path={path})",
                file=sys.stderr,
                flush=True,
            )
        summary = getattr(getattr(trainer.logger, "experiment", None), "summary", None)
        if trainer.is_global_zero and summary is not None and hasattr(summary, "update"):
            summary.update({"interrupted": True, "interrupted/signal": name, "interrupted/iteration": iteration})
