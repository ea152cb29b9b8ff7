"""Plain networks (no training logic)."""

from sfd_lightning.models.components.autoencoder import LatentAutoencoder
from sfd_lightning.models.components.classifier import ConvClassifier
from sfd_lightning.models.components.ddpm_unet import DDPMUNet
from sfd_lightning.models.components.dit import DiTEps
from sfd_lightning.models.components.flux import FluxTransformer
from sfd_lightning.models.components.mlp_classifier import MLPClassifier
from sfd_lightning.models.components.resnet_classifier import ResNetClassifier
from sfd_lightning.models.components.sd3 import SD3Transformer
from sfd_lightning.models.components.sdxl import SDXLUNet
from sfd_lightning.models.components.stable_diffusion import SDUNet
from sfd_lightning.models.components.text_unet import TextUNet

__all__ = [
    "ConvClassifier",
    "DDPMUNet",
    "DiTEps",
    "FluxTransformer",
    "LatentAutoencoder",
    "MLPClassifier",
    "ResNetClassifier",
    "SD3Transformer",
    "SDUNet",
    "SDXLUNet",
    "TextUNet",
]
