"""DataModules: noise + label batches for SFD; digits, CIFAR-10 and STL-10 images for teachers and classifiers."""
from sfd_lightning.data.digits import DigitsDataModule, DigitsDataset
from sfd_lightning.data.noise import NoiseLabelDataModule, noise_batch
from sfd_lightning.data.vision import VisionDataModule, VisionDataset

__all__ = ["DigitsDataModule", "DigitsDataset", "NoiseLabelDataModule", "VisionDataModule", "VisionDataset", "noise_batch"]
