"""DataModules: noise + label batches for SFD; digits, CIFAR-10, STL-10 and ImageNet images for teachers and
classifiers."""

from sfd_lightning.data.digit_captions import DigitCaptionsDataModule
from sfd_lightning.data.digits import DigitsDataModule, DigitsDataset
from sfd_lightning.data.imagenet import ImageNetFolder
from sfd_lightning.data.noise import NoiseLabelDataModule, noise_batch
from sfd_lightning.data.prompts import PromptDataModule
from sfd_lightning.data.vision import VisionDataModule, VisionDataset

__all__ = [
    "DigitCaptionsDataModule",
    "DigitsDataModule",
    "DigitsDataset",
    "ImageNetFolder",
    "PromptDataModule",
    "NoiseLabelDataModule",
    "VisionDataModule",
    "VisionDataset",
    "noise_batch",
]
