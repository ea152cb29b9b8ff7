"""Pure noise + label batches: SFD is data-free and never touches a real image."""
from typing import Dict, Optional, Sequence

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, Dataset

from sfd_lightning.errors import ConfigError


class NoiseLabelDataset(Dataset):
    """Item i is ``{"z": N(0, I) of ``shape``, "labels": a retained label}``, reproducible from (seed, i)."""

    def __init__(self, shape: Sequence[int], labels: Sequence[int], length: int, seed: int = 0):
        self.shape, self.labels, self.length, self.seed = tuple(shape), torch.as_tensor(list(labels)), length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> Dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + i)
        z = torch.randn(self.shape, generator=g)
        label = self.labels[torch.randint(len(self.labels), (), generator=g)]
        return {"z": z, "labels": label}


class NoiseLabelDataModule(LightningDataModule):
    """Batches of noise and retained labels; one epoch is ``iterations`` SFD iterations.

    The forget label and number of classes come from the model (``model.forget_label``,
    ``model.num_classes``) unless given here.
    """

    def __init__(self, shape: Sequence[int] = (1, 8, 8), batch_size: int = 64, iterations: int = 1000,
                 retained_labels: Optional[Sequence[int]] = None, seed: int = 0, num_workers: int = 0):
        """
        Args:
            shape: shape of one noise sample (C, H, W), the generator's output shape.
            batch_size: retained samples per iteration per device (SFD adds as many forget-label samples).
            iterations: SFD iterations per epoch.
            retained_labels: labels to distil; default every class except the model's forget label.
            seed: seed of the noise stream (each index draws its own noise, so ranks never repeat).
            num_workers: DataLoader worker processes.
        """
        super().__init__()
        for name, value in (("batch_size", batch_size), ("iterations", iterations)):
            if value < 1:
                raise ConfigError(f"data.{name}", f"must be >= 1, got {value}")
        self.shape, self.batch_size, self.iterations = tuple(shape), batch_size, iterations
        self.retained_labels, self.seed, self.num_workers = retained_labels, seed, num_workers

    def resolve_labels(self) -> Sequence[int]:
        model = self.trainer.lightning_module if self.trainer is not None else None
        num_classes, forget = getattr(model, "num_classes", None), getattr(model, "forget_label", None)
        if self.retained_labels is not None:
            if forget is not None and forget in self.retained_labels and getattr(model, "forgets", True):
                raise ConfigError("data.retained_labels", f"must not contain the forget label {forget} while forgetting")
            if num_classes is not None and any(not 0 <= c < num_classes for c in self.retained_labels):
                raise ConfigError("data.retained_labels", f"labels must be in [0, {num_classes - 1}]")
            return list(self.retained_labels)
        if num_classes is None:
            raise ConfigError("data.retained_labels", "give them, or use a model with num_classes and forget_label")
        return [c for c in range(num_classes) if c != forget]

    def setup(self, stage: Optional[str] = None) -> None:
        world = self.trainer.world_size if self.trainer is not None else 1
        length = self.iterations * self.batch_size * world
        self.train_set = NoiseLabelDataset(self.shape, self.resolve_labels(), length, self.seed)

    def train_dataloader(self) -> DataLoader:
        # Shuffling is pointless: every index is its own independent draw.
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=False, drop_last=True, num_workers=self.num_workers)
