"""SalUn (Fan et al., 2024, "SalUn: empowering machine unlearning via gradient-based weight saliency", sec. 4):
a weight-saliency mask from the gradient of the forgetting loss, then fine-tuning of the salient weights only
with random labelling in its diffusion form plus the retained data: on noisy images of the forgotten class,
the prediction for the forgotten label is pulled to the model's own (detached) prediction for a random other
label, l_f = ||eps_theta(x_t | c_f) - sg[eps_theta(x_t | c')]||^2, and loss = l_f + alpha * l_DDPM(D_r). Needs
the real training data."""
from typing import Any, Dict, List, Tuple

import torch

from sfd_lightning.baselines.base import UnlearningBaseline
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
    With ``trainer.gradient_clip_val`` (SalUn's code: 1.0 by norm) Lightning clips the masked gradients (SalUn clips first)."""

    def __init__(self, *args: Any, sparsity: float = 0.5, alpha: float = 1.0, mask_batches: int = 4, **kwargs: Any):
        """
        Args:
            sparsity: share of weights left frozen (the paper's 50%).
            alpha: weight of the retained-data loss.
            mask_batches: training batches whose forget-class rows give the saliency gradient.
            *args, **kwargs: :class:`UnlearningBaseline`'s (teacher, teacher_ckpt, num_classes, forget_label, ...).
        """
        super().__init__(*args, **kwargs)
        self.needs_classes("SalUn")
        if not 0 <= sparsity < 1:
            raise ConfigError("model.sparsity", f"must be in [0, 1), got {sparsity}")
        self.sparsity, self.alpha, self.mask_batches = sparsity, alpha, mask_batches
        self.mask: List[torch.Tensor] = []

    def split(self, batch: Tuple[torch.Tensor, torch.Tensor]):
        images, labels = batch
        forget = labels == self.forget_label
        return images[forget], labels[forget], images[~forget], labels[~forget]

    def on_train_start(self) -> None:
        """The saliency mask: gradient of the forgetting loss (the DDPM loss on the forget class) w.r.t. the weights."""
        params = [p for p in self.student.parameters() if p.requires_grad]
        grads = [torch.zeros_like(p) for p in params]
        g = torch.Generator().manual_seed(0)
        for i, batch in enumerate(self.trainer.train_dataloader):
            if i == self.mask_batches:
                break
            images, labels, _, _ = self.split([t.to(self.device) for t in batch])
            loss = self.diffusion_loss(images, labels, g)
            if loss.requires_grad:
                for acc, grad in zip(grads, torch.autograd.grad(loss, params, allow_unused=True)):
                    if grad is not None:
                        acc.add_(grad)
        self.mask = saliency_mask(grads, self.sparsity)

    def on_before_optimizer_step(self, optimizer) -> None:
        for p, m in zip((p for p in self.student.parameters() if p.requires_grad), self.mask):
            if p.grad is not None:
                p.grad.mul_(m)

    def relabel_loss(self, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Random labelling for a diffusion model: the forgotten label's eps at x_t towards the eps the same model
        predicts there for a random other label (held fixed), mean over the rows (0 for none)."""
        if len(images) == 0:
            return images.new_zeros(())
        sigmas = self.student.schedule.sigmas
        sigma = sigmas[torch.randint(len(sigmas), (len(images),), generator=generator).to(images.device)]
        x = images + sigma.view(-1, 1, 1, 1) * torch.randn(images.shape, generator=generator).to(images)
        with torch.no_grad():
            target = eps_of(self.student, x, sigma, other_labels(labels, self.num_classes, generator))
        return (eps_of(self.student, x, sigma, labels) - target).square().flatten(1).sum(dim=1).mean()

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(int(self.global_step))
        forget_x, forget_y, kept_x, kept_y = self.split(batch)
        loss_forget = self.relabel_loss(forget_x, forget_y, g)
        loss_retain = self.diffusion_loss(kept_x, kept_y, g)
        loss = loss_forget + self.alpha * loss_retain
        self.log_dict({"loss/forget_relabelled": loss_forget, "loss/retain": loss_retain}, prog_bar=True, batch_size=len(batch[0]))
        return loss
