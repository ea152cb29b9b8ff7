"""LightningModules: SFD itself (an ``UnlearningModule``, as every baseline), teacher training and classifier
training."""

from sfd_lightning.models.classifier_module import ClassifierModule
from sfd_lightning.models.diffusion_module import DiffusionModule
from sfd_lightning.models.sfd_module import SFDModule
from sfd_lightning.models.unlearning_module import UnlearningModule

__all__ = ["ClassifierModule", "DiffusionModule", "SFDModule", "UnlearningModule"]
