"""SalUn (Fan et al., 2024, "SalUn: empowering machine unlearning via gradient-based weight saliency", sec. 4):
a weight-saliency mask from the gradient of the forgetting loss, then fine-tuning of the salient weights only
with random labelling in its diffusion form plus the retained data: on noisy images of the forgotten class,
the prediction for the forgotten label is pulled to the model's own (detached) prediction for a random other
label, l_f = ||eps_theta(x_t | c_f) - sg[eps_theta(x_t | c')]||^2, and loss = l_f + alpha * l_DDPM(D_r). Class-
conditional teachers need the real training data; prompt-conditioned ones use the teacher's samples (below)."""

from typing import Any, Iterator, List, Optional, Tuple

import torch

from sfd_lightning.baselines.base import UnlearningBaseline
from sfd_lightning.diffusion.conditions import Condition, cycled, take
from sfd_lightning.errors import ConfigError
from sfd_lightning.losses.esd import eps_of


def saliency_mask(grads: List[torch.Tensor], sparsity: float) -> List[torch.Tensor]:
    """1 where |g| is among the largest ``1 - sparsity`` share of all gradient magnitudes (one global threshold, the
    paper's hard thresholding), else 0."""
    magnitudes = torch.cat([g.abs().flatten() for g in grads])
    keep = max(1, int(round((1 - sparsity) * magnitudes.numel())))
    threshold = torch.topk(magnitudes, keep).values.min()
    return [(g.abs() >= threshold).to(g.dtype) for g in grads]


def other_labels(labels: torch.Tensor, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    """A uniformly random label other than each one (random labelling of the forgetting data)."""
    shift = torch.randint(1, num_classes, labels.shape, generator=generator).to(labels.device)
    return (labels + shift) % num_classes


class SalUnModule(UnlearningBaseline):
    """Masked fine-tuning; the mask is computed at the start of training from ``mask_batches`` batches.
    With ``trainer.gradient_clip_val`` (SalUn's code: 1.0 by norm) Lightning clips the masked gradients (SalUn clips
    first).

    Prompt-conditioned teachers (``num_classes: null``) follow SalUn's Stable Diffusion recipe: the forgetting data
    D_f is the teacher's samples of the ``PromptDataModule``'s forget prompts, the retained data D_r its samples of
    the retained prompts (``generated`` of each), and a forget prompt's eps is pulled to the model's eps for its
    override prompt (SalUn's nudity run: "a photo of a nude person" to "a photo of a person wearing clothes")."""

    def __init__(
        self,
        *args: Any,
        sparsity: float = 0.5,
        alpha: float = 1.0,
        mask_batches: int = 4,
        generated: int = 800,
        **kwargs: Any,
    ):
        """
        Args:
            sparsity: share of weights left frozen (the paper's 50%).
            alpha: weight of the retained-data loss.
            mask_batches: training batches whose forget-class rows give the saliency gradient.
            generated: prompt-conditioned teachers: teacher samples in D_f and in D_r (SalUn's: 800 each).
            *args, **kwargs: :class:`UnlearningBaseline`'s (teacher, teacher_ckpt, num_classes, forget_label, ...).
        """
        super().__init__(*args, **kwargs)
        if not 0 <= sparsity < 1:
            raise ConfigError("model.sparsity", f"must be in [0, 1), got {sparsity}")
        if generated < 1:
            raise ConfigError("model.generated", f"must be >= 1, got {generated}")
        self.sparsity, self.alpha, self.mask_batches, self.generated = sparsity, alpha, mask_batches, generated
        self.mask: List[torch.Tensor] = []

    def split(self, batch: Tuple[torch.Tensor, torch.Tensor]):
        images, labels = batch
        forget = labels == self.forget_label
        return images[forget], labels[forget], images[~forget], labels[~forget]

    def generate_sets(self) -> None:
        """D_f (forget prompts, with their override prompts as the new labels) and D_r, from the teacher."""
        shape, sets = tuple(self.trainer.datamodule.shape), self.forget_sets()
        self.forget_c, self.pseudo_c = sets.forget_rows(self.generated)
        self.forget_x = self.teacher_samples(self.forget_c, 1, shape)
        self.kept_c = cycled(sets.retained, self.generated)
        self.kept_x = self.teacher_samples(self.kept_c, 2, shape)

    def forget_batches(self) -> Iterator[Tuple[torch.Tensor, Condition]]:
        """``mask_batches`` batches of forgetting data (images, conditions): the forget rows of the training batches,
        or slices of the generated D_f."""
        if self.prompt_conditioned:
            size = self.trainer.datamodule.batch_size
            for start in range(0, min(len(self.forget_x), self.mask_batches * size), size):
                yield self.forget_x[start : start + size], self.forget_c[start : start + size]
            return
        for i, batch in enumerate(self.trainer.train_dataloader):
            if i == self.mask_batches:
                return
            images, labels, _, _ = self.split([t.to(self.device) for t in batch])
            yield images, labels

    def on_train_start(self) -> None:
        """The saliency mask: gradient of the forgetting loss (the DDPM loss on the forget data) w.r.t. the weights."""
        if self.prompt_conditioned:
            self.generate_sets()
        params = [p for p in self.student.parameters() if p.requires_grad]
        grads = [torch.zeros_like(p) for p in params]
        g = torch.Generator().manual_seed(0)
        for images, conditions in self.forget_batches():
            loss = self.diffusion_loss(images, conditions, g)
            if loss.requires_grad:
                for acc, grad in zip(grads, torch.autograd.grad(loss, params, allow_unused=True)):
                    if grad is not None:
                        acc.add_(grad)
        self.mask = saliency_mask(grads, self.sparsity)

    def on_before_optimizer_step(self, optimizer) -> None:
        for p, m in zip((p for p in self.student.parameters() if p.requires_grad), self.mask):
            if p.grad is not None:
                p.grad.mul_(m)

    def relabel_loss(
        self,
        images: torch.Tensor,
        conditions: Condition,
        generator: torch.Generator,
        pseudo: Optional[Condition] = None,
    ) -> torch.Tensor:
        """Random labelling for a diffusion model: the forget condition's eps at x_t towards the eps the same model
        predicts there for ``pseudo`` (default: a random other label), held fixed; mean over the rows (0 for none)."""
        if len(images) == 0:
            return images.new_zeros(())
        sigmas = self.student.schedule.sigmas
        sigma = sigmas[torch.randint(len(sigmas), (len(images),), generator=generator).to(images.device)]
        x = images + sigma.view(-1, 1, 1, 1) * torch.randn(images.shape, generator=generator).to(images)
        with torch.no_grad():
            pseudo = pseudo if pseudo is not None else other_labels(conditions, self.num_classes, generator)
            target = eps_of(self.student, x, sigma, pseudo)
        return (eps_of(self.student, x, sigma, conditions) - target).square().flatten(1).sum(dim=1).mean()

    def step_data(self, batch, generator: torch.Generator):
        """(forget images, their conditions, their new conditions or None, retained images, their conditions)."""
        if not self.prompt_conditioned:
            forget_x, forget_y, kept_x, kept_y = self.split(batch)
            return forget_x, forget_y, None, kept_x, kept_y
        n = len(batch["generator"]["labels"])
        i = torch.randint(len(self.forget_x), (n,), generator=generator)
        j = torch.randint(len(self.kept_x), (n,), generator=generator)
        return (
            self.forget_x[i.to(self.device)],
            take(self.forget_c, i),
            take(self.pseudo_c, i),
            self.kept_x[j.to(self.device)],
            take(self.kept_c, j),
        )

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(int(self.global_step))
        forget_x, forget_c, pseudo, kept_x, kept_c = self.step_data(batch, g)
        loss_forget = self.relabel_loss(forget_x, forget_c, g, pseudo)
        loss_retain = self.diffusion_loss(kept_x, kept_c, g)
        loss = loss_forget + self.alpha * loss_retain
        self.log_dict(
            {"loss/forget_relabelled": loss_forget, "loss/retain": loss_retain},
            prog_bar=True,
            batch_size=len(forget_x) + len(kept_x),
        )
        return loss
