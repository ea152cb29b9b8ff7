"""ImageNet-1k images from the standard folder layout (``ROOT/val/n01440764/*.JPEG``), as [-1, 1] tensors.

Class folders sorted by WordNet id give the usual 0..999 indices (those of DiT and torchvision).
Images are resized on the shorter side and centre-cropped, as ADM/DiT prepare them. ImageNet cannot
be downloaded automatically; point ``root`` at a local copy.
"""

import os
from typing import Optional, Sequence

from sfd_lightning.data.labelled import LabelledImages
from sfd_lightning.errors import ConfigError


class ImageNetFolder(LabelledImages):
    """(image (3, S, S) in [-1, 1], label) pairs of one split; ``labels`` lists them all."""

    def __init__(
        self,
        root: str = "data/imagenet",
        split: str = "val",
        image_size: int = 256,
        labels: Optional[Sequence[int]] = None,
    ):
        """
        Args:
            root: folder holding ``train/`` and ``val/``, each with one subfolder per WordNet id.
            split: ``train`` or ``val``.
            image_size: side of the centre crop in pixels.
            labels: keep only these classes.
        """
        from torchvision import datasets, transforms

        folder = os.path.join(root, split)
        if not os.path.isdir(folder):
            raise ConfigError("root", f"no ImageNet folder {folder!r} (expected {split}/<wnid>/*.JPEG under root)")
        transform = transforms.Compose(
            [
                transforms.Resize(image_size, antialias=True),
                transforms.CenterCrop(image_size),
                transforms.ToTensor(),
                transforms.Normalize((0.5,) * 3, (0.5,) * 3),
            ]
        )
        dataset = datasets.ImageFolder(folder, transform=transform)
        super().__init__(dataset, list(dataset.targets), labels)
