"""Pure loss functions: tensors and denoisers in, per-sample losses out."""

from sfd_lightning.losses.denoising import denoising_loss
from sfd_lightning.losses.esd import esd_loss, esd_target
from sfd_lightning.losses.ewc import ewc_penalty
from sfd_lightning.losses.sid import sid_generator_loss

__all__ = ["denoising_loss", "esd_loss", "esd_target", "ewc_penalty", "sid_generator_loss"]
