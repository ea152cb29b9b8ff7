"""Lightning plumbing for a module whose iteration is several manual optimiser steps (SFD: the fake
score's, then the generator's): ``trainer.max_steps`` counted in iterations, one learning-rate
schedule step per iteration, and guarded steps (non-finite gradients, value clipping)."""

import weakref
from functools import partial
from typing import Dict, Optional, Sequence

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.plugins.precision import MixedPrecision

from sfd_lightning.models.nonfinite import NonFiniteGuard


class ManualIterations(LightningModule):
    """Subclasses set ``iteration``, ``guard`` (:class:`NonFiniteGuard`), ``grad_clip_value`` and ``lr_scheduler``
    (a factory, or None), and return their optimisers (and schedules) from ``configure_optimizers``."""

    steps_per_iteration = 2  # optimiser steps Lightning counts in trainer.global_step per iteration
    _iteration = 0
    guard: NonFiniteGuard
    grad_clip_value: Optional[float]
    _doubled_loop: Optional[weakref.ref] = None  # the fit loop whose max_steps now counts iterations

    @property
    def iteration(self) -> int:
        """Completed iterations (each ``steps_per_iteration`` optimiser steps): the x axis of every evaluation and
        log."""
        return self._iteration

    @iteration.setter
    def iteration(self, value: int) -> None:
        self._iteration = value

    def setup(self, stage: str) -> None:
        # Lightning counts two optimiser steps per SFD iteration; trainer.max_steps means iterations here.
        # Lightning has no public way to count one step per training_step under manual optimisation with several
        # optimisers (open issue Lightning-AI/pytorch-lightning#17958), so the fit loop's limit is doubled instead.
        # Once per trainer: setup runs again for every fit call. A weak reference: no trainer kept alive or copied.
        loop = self.trainer.fit_loop.epoch_loop
        if stage == "fit" and loop.max_steps > 0 and (self._doubled_loop is None or self._doubled_loop() is not loop):
            loop.max_steps *= self.steps_per_iteration
            self._doubled_loop = weakref.ref(loop)
        super().setup(stage)

    def on_train_epoch_end(self) -> None:
        # Before ModelCheckpoint's epoch-end save and the final evaluations: a run none of whose updates of a kind
        # applied (all skipped as non-finite) fails instead of reporting metrics of unchanged weights.
        self.guard.check_some_applied(self.iteration)

    def guarded_step(self, opt, loss: torch.Tensor, name: str, clip: bool) -> None:
        """Backward of ``loss`` and a step of ``opt``: an unusable update (``guard``) leaves weights and optimiser
        state unchanged; ``clip`` clips each gradient element to ``grad_clip_value``."""
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        agree = partial(self.trainer.strategy.reduce_boolean_decision, all=True)
        if not self.guard.gradients_usable(opt, loss, agree, f"SFD iteration {self.iteration}: the {name}", name):
            opt.zero_grad(set_to_none=True)  # the step below then changes no weight and no optimiser state
        elif clip and self.grad_clip_value is not None:
            self.clip_by_value(opt)
        opt.step()

    def clip_by_value(self, opt) -> None:
        """Clip each gradient element of ``opt``'s parameters to ``grad_clip_value``. Under ``bf16-mixed`` (no gradient
        scaler) directly: Lightning's mixed-precision plugin refuses a fused optimiser (the digits configs' Adam),
        though only a scaler's unscaling conflicts with one."""
        plugin = self.trainer.precision_plugin
        if isinstance(plugin, MixedPrecision) and plugin.scaler is None:
            plugin.clip_grad_by_value(opt, self.grad_clip_value)
        else:
            self.clip_gradients(opt, gradient_clip_val=self.grad_clip_value, gradient_clip_algorithm="value")

    def step_schedules(self, names: Sequence[str]) -> Dict[str, float]:
        """One schedule step per iteration; each optimiser's learning rate then in use, as ``lr/<name>``."""
        if self.lr_scheduler is not None:
            for scheduler in self.lr_schedulers():
                scheduler.step()
        return {f"lr/{name}": opt.param_groups[0]["lr"] for name, opt in zip(names, self.optimizers())}
