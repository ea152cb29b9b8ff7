"""CIFAR-10 and STL-10 through torchvision, as images in [-1, 1] with integer labels.

Downloaded by torchvision on first use (``download: true``) into ``root``. The STL-10 teacher
trains on the labelled ``train`` and ``test`` splits together (``all``, 13,000 images), as the SFD
reference does, resized to ``image_size`` (64 px).
"""

from typing import Literal, Optional, Sequence

from lightning.pytorch import LightningDataModule
from torch.utils.data import ConcatDataset, DataLoader

from sfd_lightning.data.labelled import LabelledImages
from sfd_lightning.errors import ConfigError

Name = Literal["CIFAR10", "STL10"]
Split = Literal["train", "test", "all"]
NATIVE_SIZE = {"CIFAR10": 32, "STL10": 96}


def _torchvision_split(name: str, root: str, split: str, download: bool, transform):
    from torchvision import datasets

    try:
        if name == "CIFAR10":
            return datasets.CIFAR10(root, train=split == "train", download=download, transform=transform)
        return datasets.STL10(root, split=split, download=download, transform=transform)
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted. You can use download=True ..."
        raise ConfigError(
            "root", f"{name} not found under {root!r} ({err}); set download: true or point root at it"
        ) from None


class VisionDataset(LabelledImages):
    """(image (3, S, S) in [-1, 1], label) pairs of a torchvision dataset; ``labels`` lists them all."""

    def __init__(
        self,
        name: Name = "CIFAR10",
        root: str = "data",
        split: Split = "train",
        download: bool = False,
        image_size: Optional[int] = None,
        random_flip: bool = False,
        labels: Optional[Sequence[int]] = None,
    ):
        """
        Args:
            name: ``CIFAR10`` or ``STL10``.
            root: folder holding (or receiving) torchvision's files.
            split: ``train``, ``test`` or ``all`` (both).
            download: let torchvision download the files when missing.
            image_size: resize to this many pixels (default: the native size, 32 or 96).
            random_flip: random horizontal flips (training).
            labels: keep only these classes (0..9).
        """
        from torchvision import transforms

        if name not in NATIVE_SIZE:
            raise ConfigError("name", f"must be one of {sorted(NATIVE_SIZE)}, got {name!r}")
        if split not in ("train", "test", "all"):
            raise ConfigError("split", f"must be 'train', 'test' or 'all', got {split!r}")
        steps = (
            [transforms.Resize(image_size, antialias=True)] if image_size and image_size != NATIVE_SIZE[name] else []
        )
        steps += [transforms.RandomHorizontalFlip()] if random_flip else []
        steps += [transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)]
        transform = transforms.Compose(steps)
        parts = ["train", "test"] if split == "all" else [split]
        sets = [_torchvision_split(name, root, p, download, transform) for p in parts]
        targets = [int(y) for s in sets for y in (s.targets if name == "CIFAR10" else s.labels)]
        bad = [c for c in labels or () if not 0 <= c < 10]
        if bad:
            raise ConfigError("labels", f"{name} classes are 0..9, got {bad}")
        super().__init__(ConcatDataset(sets), targets, labels)


class VisionDataModule(LightningDataModule):
    """Training batches (images (B, 3, S, S) in [-1, 1], labels) for teachers and classifiers."""

    def __init__(
        self,
        name: Name = "CIFAR10",
        root: str = "data",
        download: bool = True,
        image_size: Optional[int] = None,
        random_flip: bool = True,
        batch_size: int = 128,
        num_workers: int = 4,
        train_split: Split = "train",
        val_split: Optional[Split] = "test",
        labels: Optional[Sequence[int]] = None,
    ):
        """
        Args:
            name: ``CIFAR10`` or ``STL10``.
            root: folder holding (or receiving) torchvision's files.
            download: let torchvision download the files when missing (rank 0 only, in prepare_data).
            image_size: resize to this many pixels (default: native).
            random_flip: random horizontal flips of training images.
            batch_size: images per batch on each device.
            num_workers: DataLoader worker processes.
            train_split: split trained on (``all``: train + test, the reference's STL-10 teacher).
            val_split: split used for validation (null: none).
            labels: train and validate on these classes only (retraining without a forgotten class); default all.
        """
        super().__init__()
        if batch_size < 1:
            raise ConfigError("data.batch_size", f"must be >= 1, got {batch_size}")
        if name not in NATIVE_SIZE:
            raise ConfigError("data.name", f"must be one of {sorted(NATIVE_SIZE)}, got {name!r}")
        self.name, self.root, self.download, self.image_size = name, root, download, image_size
        self.random_flip, self.batch_size, self.num_workers = random_flip, batch_size, num_workers
        self.train_split, self.val_split = train_split, val_split
        bad = [c for c in labels or () if not 0 <= c < 10]
        if bad:
            raise ConfigError("data.labels", f"{name} classes are 0..9, got {bad}")
        self.labels = list(labels) if labels is not None else None

    @property
    def shape(self):
        """What the generators draw (the evaluation callbacks read it)."""
        size = self.image_size or NATIVE_SIZE[self.name]
        return (3, size, size)

    def prepare_data(self) -> None:
        if self.download:
            VisionDataset(self.name, self.root, "all", download=True)

    def setup(self, stage: Optional[str] = None) -> None:
        self.train_set = VisionDataset(
            self.name, self.root, self.train_split, False, self.image_size, self.random_flip, self.labels
        )
        self.val_set = (
            VisionDataset(self.name, self.root, self.val_split, False, self.image_size, labels=self.labels)
            if self.val_split
            else None
        )

    def train_dataloader(self) -> DataLoader:
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=True,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def val_dataloader(self):
        if self.val_set is None:
            return []
        return DataLoader(self.val_set, batch_size=self.batch_size, num_workers=self.num_workers)
