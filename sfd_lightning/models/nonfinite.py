"""What an SFD update does when a loss or gradient is NaN/inf (``model.on_nonfinite``)."""

from collections import Counter
from typing import Callable, List, Tuple

import torch

from sfd_lightning.errors import ConfigError

POLICIES = ("skip", "stop", "drop")


class NonFiniteError(RuntimeError):
    """A loss or gradient was not finite and ``model.on_nonfinite`` is ``stop``."""


class NonFiniteGuard:
    """``skip`` the update (counted in ``skipped``) or ``stop`` the run, so the weights never see a NaN; or
    ``drop`` (the reference's SD loop): leave non-finite samples out of the losses (counted in ``dropped``)
    and zero NaN gradients (infinities become +-1e5) before the step."""

    def __init__(self, policy: str):
        if policy not in POLICIES:
            raise ConfigError("model.on_nonfinite", f"must be skip, stop or drop, got {policy!r}")
        self.policy, self.skipped, self.dropped = policy, 0, 0
        # in this process, by update ("generator", ...): to tell a run whose updates never applied
        self.attempts, self.skipped_by = Counter(), Counter()

    def means(self, per_sample: torch.Tensor, n_retained: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Batch means of the retained rows and of the forget rows (0 when there are none)."""
        if self.policy == "drop":
            finite = torch.isfinite(per_sample)
            self.dropped += int((~finite).sum())
            per_sample = torch.where(finite, per_sample, torch.zeros_like(per_sample))
        remain, forget = per_sample[:n_retained], per_sample[n_retained:]
        return remain.mean(), (forget.mean() if len(forget) else per_sample.new_zeros(()))

    def gradients_usable(
        self,
        opt: torch.optim.Optimizer,
        loss: torch.Tensor,
        agree: Callable[[bool], bool],
        what: str,
        name: str = "update",
    ) -> bool:
        """After the backward: True if the step may go ahead. ``agree`` makes every rank's answer the same;
        ``what`` begins the error message ("SFD iteration 3: the generator"); ``name`` is the update's kind."""
        self.attempts[name] += 1
        grads = [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]
        if self.policy == "drop":
            for g in grads:
                torch.nan_to_num_(g, nan=0.0, posinf=1e5, neginf=-1e5)
            return True
        # The largest magnitude is NaN or inf exactly when an element is (and, unlike a 2-norm, never overflows).
        largest = torch.nn.utils.get_total_norm(grads, norm_type=float("inf")) if grads else loss.new_zeros(())
        if agree(bool(torch.isfinite(loss).all() and torch.isfinite(largest))):
            return True
        if self.policy == "stop":
            raise NonFiniteError(
                f"{what} loss or its gradients are not finite (model.on_nonfinite=stop); "
                "checkpoints saved so far are intact. Lower the learning rates or set "
                "model.on_nonfinite=skip, and resume with --ckpt_path"
            )
        self.skipped += 1
        self.skipped_by[name] += 1
        return False

    def never_applied(self) -> List[str]:
        """The kinds of update that were attempted in this process and skipped every time."""
        return [name for name, n in self.attempts.items() if n and self.skipped_by[name] == n]

    def check_some_applied(self, iteration: int) -> None:
        """Raise :class:`NonFiniteError` when a kind of update never changed the weights: such a run is no result."""
        never = self.never_applied()
        if never:
            raise NonFiniteError(
                f"every {' and every '.join(never)} update was skipped (non-finite loss or gradients, "
                f"{self.skipped} skipped by iteration {iteration}, model.on_nonfinite=skip): the run "
                "learnt nothing. Check the teacher's weights and lower the learning rates"
            )
