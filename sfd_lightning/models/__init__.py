"""LightningModules: SFD itself, teacher training and classifier training."""
from sfd_lightning.models.classifier_module import ClassifierModule
from sfd_lightning.models.diffusion_module import DiffusionModule
from sfd_lightning.models.sfd_module import SFDModule

__all__ = ["ClassifierModule", "DiffusionModule", "SFDModule"]
