"""Teacher training: the DDPM epsilon loss (Ho et al., 2020) with label dropout for
classifier-free guidance (Ho & Salimans, 2022) and an EMA of the weights."""

from typing import Dict, Optional

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import OptimizerCallable
from lightning.pytorch.utilities import rank_zero_info
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from sfd_lightning.diffusion import conditions
from sfd_lightning.diffusion.denoiser import Denoiser
from sfd_lightning.diffusion.schedule import training_noise
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.checkpoint import network_weights, read_any
from sfd_lightning.io.source import Source
from sfd_lightning.io.strict import load_matching
from sfd_lightning.losses import denoising_loss
from sfd_lightning.models.hparams import adam_or, save_plain_hyperparameters


def warm_start(denoiser: Denoiser, path: str) -> None:
    """``model.init_weights``: the weights ``denoiser`` shares with the checkpoint at ``path``, copied."""
    source = Source(path, "model.init_weights")
    state = network_weights(read_any(source), source, prefixes=("denoiser_ema.module.", "denoiser."))
    left = load_matching(denoiser, state, source)
    rank_zero_info(
        f"model.init_weights: started from {path}; {len(left)} weights keep their initialisation"
        + (f" (e.g. {left[0]})" if left else "")
    )


class DiffusionModule(LightningModule):
    """Train a conditional denoiser on (image, label) or (image, prompt) batches."""

    def __init__(
        self,
        denoiser: Denoiser,
        label_dropout: float = 0.1,
        ema_decay: float = 0.9999,
        optimizer: Optional[OptimizerCallable] = None,
        init_weights: Optional[str] = None,
    ):
        """
        Args:
            denoiser: the denoiser to train (e.g. ``VPDenoiser`` around a ``DDPMUNet``).
            label_dropout: probability of replacing a label by the null label (for classifier-free guidance).
            ema_decay: decay of the weights' exponential moving average (the EMA is what gets exported).
            optimizer: optimiser factory (default Adam lr 2e-4).
            init_weights: a teacher asset or ``DiffusionModule`` checkpoint (EMA weights) that starts the
                denoiser: weights of the same name and shape are copied, the others keep their initialisation
                (the text teacher starts from the class teacher: all but the class embedding).
        """
        super().__init__()
        save_plain_hyperparameters(self)
        if not 0 <= label_dropout < 1:
            raise ConfigError("model.label_dropout", f"must be in [0, 1), got {label_dropout}")
        if not 0 <= ema_decay < 1:
            raise ConfigError("model.ema_decay", f"must be in [0, 1), got {ema_decay}")
        if init_weights:
            warm_start(denoiser, init_weights)
        self.denoiser, self.label_dropout = denoiser, label_dropout
        self.denoiser_ema = AveragedModel(denoiser, multi_avg_fn=get_ema_multi_avg_fn(ema_decay), use_buffers=True)
        self.denoiser_ema.requires_grad_(False)
        self.optimizer = adam_or(optimizer, lr=2e-4, betas=(0.9, 0.999))

    def loss(self, denoiser: Denoiser, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return denoising_loss(denoiser, images, *training_noise(self.denoiser.schedule, images), labels).mean()

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        images, labels = batch  # (B, C, H, W), labels (B,) or B prompts
        drop = torch.rand(len(labels), device=images.device) < self.label_dropout
        loss = self.loss(self.denoiser, images, conditions.dropped(labels, drop))
        self.log("loss/train", loss, prog_bar=True, batch_size=len(images))
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        self.denoiser_ema.update_parameters(self.denoiser)

    def validation_step(self, batch, batch_idx: int) -> None:
        images, labels = batch
        self.log(
            "loss/val_ema", self.loss(self.denoiser_ema.module, images, labels), prog_bar=True, batch_size=len(images)
        )

    def configure_optimizers(self):
        return self.optimizer(self.denoiser.parameters())

    def export_state_dict(self) -> Dict[str, torch.Tensor]:
        """The EMA weights, which are the teacher users distil from."""
        return self.denoiser_ema.module.state_dict()

    def export_config(self):
        """The denoiser's class_path config, which rebuilds the exported network."""
        return self.hparams.get("denoiser")
