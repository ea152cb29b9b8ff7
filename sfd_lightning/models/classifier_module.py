"""Classifier training, for forget-class accuracy, pseudo-label overrides and FID features."""

from typing import Dict, Optional

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import OptimizerCallable
from torch import nn

from sfd_lightning.models.hparams import adam_or, save_plain_hyperparameters


def random_shift(images: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels (zero-padded at -1, the background)."""
    if max_shift == 0:
        return images
    b, _, h, w = images.shape
    padded = F.pad(images, [max_shift] * 4, value=-1.0)
    dx, dy = torch.randint(0, 2 * max_shift + 1, (2, b)).tolist()
    return torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(b)])


class ClassifierModule(LightningModule):
    """Train an image classifier with cross-entropy, light shift augmentation and label smoothing."""

    def __init__(
        self,
        net: nn.Module,
        max_shift: int = 1,
        noise_std: float = 0.1,
        label_smoothing: float = 0.0,
        optimizer: Optional[OptimizerCallable] = None,
        head_lr_scale: float = 1.0,
    ):
        """
        Args:
            net: the classifier network (e.g. ``ConvClassifier``).
            max_shift: random translation in pixels applied to training images.
            noise_std: std of Gaussian noise added to training images (robustness to generated samples).
            label_smoothing: cross-entropy label smoothing.
            optimizer: optimiser factory (default Adam lr 1e-3).
            head_lr_scale: learning-rate multiplier of the net's ``head`` (fine-tuning a pretrained body:
                10 in the SFD reference).
        """
        super().__init__()
        save_plain_hyperparameters(self)
        self.net, self.max_shift, self.noise_std, self.label_smoothing = net, max_shift, noise_std, label_smoothing
        self.optimizer = adam_or(optimizer, lr=1e-3, betas=(0.9, 0.999))
        self.head_lr_scale = head_lr_scale

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        images, labels = batch
        images = random_shift(images, self.max_shift) + self.noise_std * torch.randn_like(images)
        loss = F.cross_entropy(self.net(images), labels, label_smoothing=self.label_smoothing)
        self.log("loss/train", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        images, labels = batch
        self.log("accuracy/val", (self.net(images).argmax(1) == labels).float().mean(), prog_bar=True)

    def configure_optimizers(self):
        head = getattr(self.net, "head", None)
        if self.head_lr_scale == 1.0 or head is None:
            return self.optimizer(self.net.parameters())
        head_ids = {id(p) for p in head.parameters()}
        body = [p for p in self.net.parameters() if id(p) not in head_ids]
        optimizer = self.optimizer([{"params": body}, {"params": list(head.parameters())}])
        optimizer.param_groups[1]["lr"] = optimizer.defaults["lr"] * self.head_lr_scale
        return optimizer

    def export_state_dict(self) -> Dict[str, torch.Tensor]:
        return self.net.state_dict()

    def export_config(self):
        """The net's class_path config, without arguments only needed to initialise it (pretrained weights)."""
        config = self.hparams.get("net")
        skip = getattr(self.net, "init_only_args", ())
        if isinstance(config, dict) and skip:
            config = dict(config, init_args={k: v for k, v in (config.get("init_args") or {}).items() if k not in skip})
        return config
