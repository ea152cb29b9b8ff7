"""DataModules: noise + label batches for SFD, digits images for teachers and classifiers."""
from sfd_lightning.data.digits import DigitsDataModule, DigitsDataset
from sfd_lightning.data.noise import NoiseLabelDataModule, noise_batch

__all__ = ["DigitsDataModule", "DigitsDataset", "NoiseLabelDataModule", "noise_batch"]
