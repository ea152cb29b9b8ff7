"""Selective Amnesia (Heng & Soh, 2023, "Selective amnesia: a continual learning approach to forgetting in deep
generative models", eq. 7): the forgotten class is mapped to a surrogate distribution (uniform noise images, or
the teacher's samples of the override class), the retained classes are kept by generative replay (the teacher's
own samples of them) and by elastic weight consolidation with the teacher's diagonal Fisher information
(``losses.ewc``). Data-free: replay and Fisher come from the teacher's samples.

Prompt-conditioned teachers (``num_classes: null``) take the ``PromptDataModule``'s prompts: each forget prompt is
trained on the surrogate (uniform noise, or the teacher's samples of its override prompt: SA's Stable Diffusion
setting, e.g. "brad pitt" shown "a middle aged man"), replay draws from the retained prompts.

The Fisher is the empirical one of the DDPM loss over mini-batches of the teacher's samples of every class
(mean squared mini-batch gradient; the paper sums the per-sample ELBO's squared gradients over 1,000
timesteps, far beyond a CPU's budget here)."""

from typing import Any, Dict, List, Literal

import torch

from sfd_lightning.baselines.base import UnlearningBaseline
from sfd_lightning.diffusion.conditions import Condition, take
from sfd_lightning.errors import ConfigError
from sfd_lightning.losses.ewc import ewc_penalty


class SelectiveAmnesiaModule(UnlearningBaseline):
    """Selective Amnesia's loss:
    ``loss = l(theta; surrogate images, c_f) + replay_weight * l(theta; teacher samples, c_r) + ewc_weight * EWC``."""

    def __init__(
        self,
        *args: Any,
        surrogate: Literal["noise", "override"] = "noise",
        replay_per_class: int = 64,
        fisher_batches: int = 20,
        fisher_batch_size: int = 16,
        replay_weight: float = 1.0,
        ewc_weight: float = 100.0,
        batch_size: int = 32,
        **kwargs: Any,
    ):
        """
        Args:
            surrogate: the forgotten class's new images: ``noise`` (uniform in [-1, 1], the paper's choice for
                class-conditional models) or ``override`` (the teacher's samples of ``override_label``, or of each
                forget prompt's override prompt).
            replay_per_class: teacher samples of each retained class (or retained prompt) for generative replay.
            fisher_batches: mini-batches of teacher samples the Fisher is averaged over.
            fisher_batch_size: samples per Fisher mini-batch.
            replay_weight: weight of the replay loss.
            ewc_weight: lambda, the weight of the EWC penalty.
            batch_size: surrogate and replay rows per step.
            *args, **kwargs: :class:`UnlearningBaseline`'s (teacher, teacher_ckpt, num_classes, forget_label, ...).
        """
        super().__init__(*args, **kwargs)
        if surrogate not in ("noise", "override"):
            raise ConfigError("model.surrogate", f"must be noise or override, got {surrogate!r}")
        if surrogate == "override" and self.override is None and not self.prompt_conditioned:
            raise ConfigError("model.surrogate", "override needs model.override_label")
        self.surrogate, self.replay_per_class = surrogate, replay_per_class
        self.fisher_batches, self.fisher_batch_size = fisher_batches, fisher_batch_size
        self.replay_weight, self.ewc_weight, self.batch_size = replay_weight, ewc_weight, batch_size
        self.fisher: List[torch.Tensor] = []

    def on_train_start(self) -> None:
        """The replay buffer, the surrogate's images and the teacher's Fisher, from the teacher's samples."""
        shape, sets = tuple(self.trainer.datamodule.shape), self.forget_sets()
        self.replay_c = take(sets.retained, torch.arange(len(sets.retained)).repeat_interleave(self.replay_per_class))
        self.replay_x = self.teacher_samples(self.replay_c, 1, shape)
        self.surrogate_c, overrides = sets.forget_rows(len(self.replay_c))
        if self.surrogate == "override":
            self.surrogate_x = self.teacher_samples(overrides, 2, shape)
        else:
            g = torch.Generator().manual_seed(2)
            self.surrogate_x = (torch.rand((len(self.replay_c), *shape), generator=g) * 2 - 1).to(self.device)
        self.fisher = self.teacher_fisher(sets.everything(), shape)

    def teacher_fisher(self, conditions: Condition, shape) -> List[torch.Tensor]:
        """The teacher's empirical diagonal Fisher over its samples of conditions drawn uniformly from
        ``conditions``."""
        params = list(self.teacher.parameters())
        fisher = [torch.zeros_like(p) for p in params]
        g = torch.Generator().manual_seed(3)
        for b in range(self.fisher_batches):
            drawn = take(conditions, torch.randint(len(conditions), (self.fisher_batch_size,), generator=g))
            x0 = self.teacher_samples(drawn, 100 + b, shape)
            with torch.enable_grad():
                for p in params:
                    p.requires_grad_(True)
                loss = self.diffusion_loss(x0, drawn, g, denoiser=self.teacher)
                grads = torch.autograd.grad(loss, params, allow_unused=True)
                for p in params:
                    p.requires_grad_(False)
            for f, grad in zip(fisher, grads):
                if grad is not None:
                    f.add_(grad.square() / self.fisher_batches)
        return fisher

    def training_step(self, batch: Dict[str, Any], batch_idx: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(int(self.global_step))
        i = torch.randint(len(self.surrogate_x), (self.batch_size,), generator=g)
        j = torch.randint(len(self.replay_x), (self.batch_size,), generator=g)
        loss_forget = self.diffusion_loss(self.surrogate_x[i.to(self.device)], take(self.surrogate_c, i), g)
        loss_replay = self.diffusion_loss(self.replay_x[j.to(self.device)], take(self.replay_c, j), g)
        ewc = ewc_penalty(self.student.parameters(), self.teacher.parameters(), self.fisher)
        loss = loss_forget + self.replay_weight * loss_replay + self.ewc_weight * ewc
        self.log_dict(
            {"loss/surrogate": loss_forget, "loss/replay": loss_replay, "loss/ewc": ewc},
            prog_bar=True,
            batch_size=self.batch_size,
        )
        return loss
