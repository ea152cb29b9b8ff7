"""ESD (Gandikota et al., 2023, "Erasing concepts from diffusion models"): data-free fine-tuning of a copy of the
teacher so that its prediction for the erased condition follows negative guidance away from it (``losses.esd``),
on noisy samples the fine-tuned model draws itself for that condition (DDIM from pure noise with guidance
``sample_guidance``, stopped at a uniform random level, as ESD does).

The erased condition is, by the teacher's kind: the forgotten class (class-conditional teachers, our
adaptation); the ``concept`` prompt itself (ESD's setting on Stable Diffusion, e.g. "nudity"); or, without a
``concept``, the forget prompts the ``PromptDataModule`` draws for each step (the captions that name it).
``train_method`` chooses the fine-tuned weights as ESD's code does: its Linear and Conv2d layers, all of them or
only those in or out of the cross-attention (``attn2``) blocks. The batches only pace the steps and seed the noise."""

from typing import Any, Dict, List, Literal, Optional, Tuple

import torch
from torch import nn

from sfd_lightning.baselines.base import UnlearningBaseline
from sfd_lightning.diffusion.conditions import Condition, cycled
from sfd_lightning.diffusion.samplers import ddim, ddim_sigmas
from sfd_lightning.errors import ConfigError
from sfd_lightning.losses.esd import esd_loss

TrainMethod = Literal["full", "esd-x", "esd-u", "esd-all", "esd-x-strict"]
LAYERS = (nn.Linear, nn.Conv2d)


def esd_parameters(net: nn.Module, method: TrainMethod) -> List[Tuple[str, nn.Parameter]]:
    """The (name, parameter) pairs ESD fine-tunes. ``full``: every parameter; otherwise the parameters of the
    Linear and Conv2d layers: ``esd-all`` all of them, ``esd-x`` those inside cross-attention (``attn2``),
    ``esd-x-strict`` only its key and value projections, ``esd-u`` all but cross-attention."""
    if method == "full":
        return list(net.named_parameters())
    chosen = {
        "esd-all": lambda name: True,
        "esd-x": lambda name: "attn2" in name,
        "esd-x-strict": lambda name: "attn2.to_k" in name or "attn2.to_v" in name,
        "esd-u": lambda name: "attn2" not in name,
    }
    if method not in chosen:
        raise ConfigError("model.train_method", f"must be one of full, {', '.join(chosen)}; got {method!r}")
    return [
        (f"{name}.{n}", p)
        for name, m in net.named_modules()
        if isinstance(m, LAYERS) and chosen[method](name)
        for n, p in m.named_parameters(recurse=False)
    ]


class ESDModule(UnlearningBaseline):
    """``loss = ||eps_theta(x_k, c) - (eps*(x_k) - eta (eps*(x_k, c) - eps*(x_k)))||^2`` at a random DDIM level k."""

    def __init__(
        self,
        *args: Any,
        eta: float = 1.0,
        ddim_steps: int = 50,
        batch_size: Optional[int] = None,
        concept: Optional[str] = None,
        train_method: TrainMethod = "full",
        train_guidance: float = 1.0,
        **kwargs: Any,
    ):
        """
        Args:
            eta: negative guidance scale (ESD's paper: 1.0).
            ddim_steps: the DDIM grid the training samples are drawn on (ESD: 50, stopped at a uniform level).
            batch_size: noisy samples per step (default: the data module's batch).
            concept: prompt-conditioned teachers: the prompt to erase (ESD: the concept alone, e.g. "nudity");
                null: the data module's forget prompts.
            train_method: which weights are fine-tuned: ``full`` (every parameter), or ESD's ``esd-x`` (cross-
                attention), ``esd-x-strict`` (its keys and values), ``esd-u`` (all but cross-attention),
                ``esd-all`` (every Linear and Conv2d layer).
            train_guidance: classifier-free guidance of the training samples' DDIM (ESD on Stable Diffusion: 3).
            *args, **kwargs: :class:`UnlearningBaseline`'s (teacher, teacher_ckpt, num_classes, forget_label, ...).
        """
        super().__init__(*args, **kwargs)
        if ddim_steps < 1:
            raise ConfigError("model.ddim_steps", f"must be >= 1, got {ddim_steps}")
        if concept is not None and not self.prompt_conditioned:
            raise ConfigError(
                "model.concept",
                "names a prompt to erase: only for prompt-conditioned teachers "
                "(num_classes: null); class-conditional ones erase forget_label",
            )
        self.eta, self.ddim_steps, self.batch_size, self.concept = eta, ddim_steps, batch_size, concept
        self.train_guidance = train_guidance
        self.select_trainable(train_method)

    def select_trainable(self, method: TrainMethod) -> None:
        """Only ``method``'s parameters of the student take gradients (and go to the optimiser)."""
        chosen = {id(p) for _, p in esd_parameters(self.student, method)}
        if not chosen:
            raise ConfigError(
                "model.train_method",
                f"{method} selects no weights of this network "
                "(esd-x needs cross-attention blocks named attn2); use full or esd-u",
            )
        for p in self.student.parameters():
            p.requires_grad_(id(p) in chosen)

    def erased(self, batch: Dict[str, Dict[str, Any]], n: int, device: torch.device) -> Condition:
        """The condition to erase for ``n`` samples of this step."""
        if self.concept is not None:
            return [self.concept] * n
        if self.prompt_conditioned:
            forget = batch["generator"].get("forget_labels")
            if not forget:
                raise ConfigError(
                    "data",
                    "ESD on a prompt-conditioned teacher needs model.concept or a PromptDataModule with forget prompts",
                )
            return cycled(forget, n)
        return torch.full((n,), self.forget_label, device=device)

    def noisy_samples(self, z: torch.Tensor, conditions: Condition, generator: torch.Generator):
        """(x_k, sigma_k): the fine-tuned model's own DDIM sample stopped at a random level k (no gradient)."""
        k = int(torch.randint(self.ddim_steps, (1,), generator=generator))
        with torch.no_grad():
            x = ddim(self.student, z, conditions, self.ddim_steps, self.train_guidance, stop_at=k)
        return x, ddim_sigmas(self.student, self.ddim_steps, z.device)[k]

    def training_step(self, batch: Dict[str, Dict[str, Any]], batch_idx: int) -> torch.Tensor:
        z = batch["generator"]["z"]
        z = z[: self.batch_size or len(batch["generator"]["labels"])]
        conditions = self.erased(batch, len(z), z.device)
        g = torch.Generator().manual_seed(int(self.global_step))
        x, sigma = self.noisy_samples(z, conditions, g)
        loss = esd_loss(self.student, self.teacher, x, sigma, conditions, self.eta).mean()
        self.log("loss/esd", loss, prog_bar=True, batch_size=len(z))
        return loss
