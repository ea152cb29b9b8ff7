"""The trained weights on disk before the end-of-training evaluations run.

``ModelCheckpoint`` writes ``last.ckpt`` every N steps and, at the end, only if it never wrote one, so the
final iterations of a run whose length is not a multiple of N, or of any run whose final metric, grid or
report fails, would be lost. The evaluation callbacks call :func:`save_final_checkpoint` first.
"""

import weakref

from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.trainer.states import TrainerFn

from sfd_lightning.callbacks.interrupt import last_checkpoint_path

_saved_step: "weakref.WeakKeyDictionary[Trainer, int]" = weakref.WeakKeyDictionary()


def save_final_checkpoint(trainer: Trainer) -> None:
    """Save ``last.ckpt`` (where ModelCheckpoint keeps it) at the step training ended on, once, when the run keeps
    a last checkpoint (a ModelCheckpoint with ``save_last``) and it does not hold this step already."""
    callback = trainer.checkpoint_callback
    if not (isinstance(callback, ModelCheckpoint) and callback.save_last) or trainer.state.fn != TrainerFn.FITTING:
        return
    # Read-only look at ModelCheckpoint's record of its last save: no second write of a large checkpoint.
    if trainer.global_step in (_saved_step.get(trainer), getattr(callback, "_last_global_step_saved", None)):
        return
    trainer.save_checkpoint(last_checkpoint_path(trainer))
    _saved_step[trainer] = trainer.global_step
