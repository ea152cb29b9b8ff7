"""Pure loss functions: tensors and denoisers in, per-sample losses out."""
from sfd_lightning.losses.denoising import denoising_loss
from sfd_lightning.losses.sid import sid_generator_loss

__all__ = ["denoising_loss", "sid_generator_loss"]
