"""A callback that fails mid-run, for the tests that check a failed run keeps what it saved."""

from lightning.pytorch import Callback

from sfd_lightning.callbacks.periodic import PeriodicEvalCallback


class FailAtIteration(Callback):
    """Raise ``RuntimeError`` at the end of SFD iteration ``iteration`` (a bug in a user's callback)."""

    def __init__(self, iteration: int):
        self.iteration = iteration

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.iteration == self.iteration:
            raise RuntimeError(f"callback failure at iteration {self.iteration}")


class FailAtFinalEvaluation(PeriodicEvalCallback):
    """An end-of-training evaluation that raises (a metric or grid that breaks after training)."""

    def evaluate(self, trainer, pl_module, final):
        if final:
            raise RuntimeError("final evaluation failure")
        return {}
