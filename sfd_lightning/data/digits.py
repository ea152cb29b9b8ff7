"""scikit-learn's bundled 8x8 handwritten digits (1,797 images, offline), as images in [-1, 1].

Used to train the digits teacher and classifier and as the FID reference of the digits default.
"""

from typing import Literal, Optional, Sequence

import numpy as np
import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, Dataset

from sfd_lightning.errors import ConfigError

Split = Literal["train", "val", "all"]


def load_digits_arrays():
    from sklearn.datasets import load_digits  # scikit-learn is only needed for this embedded dataset

    digits = load_digits()
    images = digits.images.astype(np.float32) / 8.0 - 1.0  # pixel values 0..16 -> [-1, 1]
    return images[:, None], digits.target.astype(np.int64)  # (N, 1, 8, 8), (N,)


class DigitsDataset(Dataset):
    """(image, label) pairs; ``split`` takes every ``val_every``-th image of each class for validation."""

    def __init__(self, split: Split = "all", labels: Optional[Sequence[int]] = None, val_every: int = 10):
        """
        Args:
            split: ``train``, ``val`` or ``all`` images.
            labels: keep only these classes (default: all ten).
            val_every: every val_every-th image of each class is a validation image.
        """
        if split not in ("train", "val", "all"):
            raise ConfigError("split", f"must be 'train', 'val' or 'all', got {split!r}")
        images, targets = load_digits_arrays()
        rank_in_class = np.zeros(len(targets), dtype=np.int64)
        for c in range(10):
            idx = np.flatnonzero(targets == c)
            rank_in_class[idx] = np.arange(len(idx))
        keep = np.ones(len(targets), dtype=bool)
        if split != "all":
            is_val = rank_in_class % val_every == 0
            keep &= is_val if split == "val" else ~is_val
        if labels is not None:
            bad = [c for c in labels if not 0 <= c < 10]
            if bad:
                raise ConfigError("labels", f"digits classes are 0..9, got {bad}")
            keep &= np.isin(targets, list(labels))
        self.images = torch.from_numpy(images[keep])
        self.labels = torch.from_numpy(targets[keep])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.images[i], self.labels[i]


class DigitsDataModule(LightningDataModule):
    """Digits batches of (images (B, 1, 8, 8) in [-1, 1], labels (B,)) for teachers and classifiers."""

    shape = (1, 8, 8)  # what the generators draw (the evaluation callbacks read it)

    def __init__(
        self,
        batch_size: int = 128,
        val_every: int = 10,
        epoch_repeats: int = 1,
        num_workers: int = 0,
        labels: Optional[Sequence[int]] = None,
    ):
        """
        Args:
            batch_size: images per batch.
            val_every: every val_every-th image of each class is held out for validation.
            epoch_repeats: passes over the training images that make one epoch (fewer, longer epochs).
            num_workers: DataLoader worker processes.
            labels: train and validate on these classes only (retraining without a forgotten class); default all.
        """
        super().__init__()
        if batch_size < 1:
            raise ConfigError("data.batch_size", f"must be >= 1, got {batch_size}")
        self.batch_size, self.val_every, self.epoch_repeats, self.num_workers = (
            batch_size,
            val_every,
            epoch_repeats,
            num_workers,
        )
        bad = [c for c in labels or () if not 0 <= c < 10]
        if bad:  # before any training
            raise ConfigError("data.labels", f"digits classes are 0..9, got {bad}")
        self.labels = list(labels) if labels is not None else None

    def setup(self, stage: Optional[str] = None) -> None:
        self.train_set = DigitsDataset("train", labels=self.labels, val_every=self.val_every)
        self.val_set = DigitsDataset("val", labels=self.labels, val_every=self.val_every)

    def train_dataloader(self) -> DataLoader:
        repeated = torch.utils.data.ConcatDataset([self.train_set] * self.epoch_repeats)
        return DataLoader(
            repeated, batch_size=self.batch_size, shuffle=True, drop_last=True, num_workers=self.num_workers
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=512, num_workers=self.num_workers)
