"""Base for evaluations run every N SFD iterations and once at the end of training."""

from typing import Dict, List, Optional, Tuple

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn

from sfd_lightning.callbacks.final_checkpoint import save_final_checkpoint
from sfd_lightning.data.prompts import PromptDataModule
from sfd_lightning.errors import ConfigError
from sfd_lightning.models.unlearning_module import UnlearningModule, iteration_of, require_module


class PeriodicEvalCallback(Callback):
    """Calls ``evaluate`` every ``every_n_iterations`` iterations (0: only at the end), at train end, and
    under ``sfd validate``.

    Results are logged against the SFD iteration (not Lightning's global_step, which counts two
    optimiser steps per iteration) and kept in ``self.results`` and ``trainer.callback_metrics``.
    The model must be a ``requires`` (checked at setup): an ``UnlearningModule`` unless a subclass says otherwise.
    """

    final_differs = False  # True when the end-of-training evaluation computes more than the periodic one
    requires = UnlearningModule  # the modules the evaluation can sample (LightningModule: any)

    def __init__(self, every_n_iterations: int = 0):
        if every_n_iterations < 0:
            raise ConfigError("every_n_iterations", f"must be >= 0, got {every_n_iterations}")
        self.every_n_iterations = every_n_iterations
        self.results: Dict[str, float] = {}
        self.history: List[Tuple[int, Dict[str, float]]] = []  # (iteration, results) of every evaluation
        self._last_iteration: Optional[int] = None

    def evaluate(self, trainer: Trainer, pl_module: LightningModule, final: bool) -> Dict[str, float]:
        raise NotImplementedError

    def prompt_data(self, trainer: Trainer) -> PromptDataModule:
        """The run's PromptDataModule, which evaluations of prompt-conditioned samples read their prompts from."""
        data = trainer.datamodule
        if not isinstance(data, PromptDataModule):
            raise ConfigError("trainer.callbacks", f"{type(self).__name__} needs a PromptDataModule")
        return data

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Before any training: a model these evaluations cannot sample is a config error."""
        require_module(pl_module, self.requires, type(self).__name__)

    def _run(self, trainer: Trainer, pl_module: LightningModule, final: bool) -> None:
        iteration = iteration_of(trainer, pl_module)
        if iteration == self._last_iteration and not (final and self.final_differs):
            return  # already evaluated these weights
        was_training = pl_module.training
        pl_module.eval()
        with torch.no_grad():
            self.results = self.evaluate(trainer, pl_module, final)
        pl_module.train(was_training)
        self._last_iteration = iteration
        if self.results:
            self.history.append((iteration, dict(self.results)))
        trainer.callback_metrics.update({k: torch.tensor(v) for k, v in self.results.items()})
        if trainer.logger is not None and trainer.is_global_zero:
            trainer.logger.log_metrics(dict(self.results, iteration=iteration), step=iteration)

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        iteration = iteration_of(trainer, pl_module)
        if self.every_n_iterations and iteration % self.every_n_iterations == 0:
            self._run(trainer, pl_module, final=False)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        save_final_checkpoint(trainer)  # an evaluation that fails must not cost the trained weights
        self._run(trainer, pl_module, final=True)

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """``sfd validate --ckpt_path ...``: the end-of-training evaluation, of the loaded checkpoint."""
        if trainer.state.fn == TrainerFn.VALIDATING:
            self._run(trainer, pl_module, final=True)
