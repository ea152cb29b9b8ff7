"""What a sampling run draws (``sfd sample``, ``sfd predict``): block j holds ``batch_size`` conditions and
the noise of seed (seed, j), so any number of processes, each taking some blocks, draws the same images."""
import math
from typing import Dict, List, Sequence, Union

import torch
from torch.utils.data import DataLoader, Dataset

from sfd_lightning.seeding import derive_seed

Conditions = Union[torch.Tensor, List[str]]  # class labels (N,), or prompts


class SampleBlocks(Dataset):
    """Item j: ``{"block": j, "noise": (b, *shape), "conditions": b labels or prompts}``."""

    def __init__(self, conditions: Conditions, shape: Sequence[int], batch_size: int, seed: int = 0):
        self.conditions, self.shape, self.batch_size, self.seed = conditions, tuple(shape), batch_size, seed

    def __len__(self) -> int:
        return math.ceil(len(self.conditions) / self.batch_size)

    def __getitem__(self, j: int) -> Dict[str, object]:
        block = self.conditions[j * self.batch_size:(j + 1) * self.batch_size]
        g = torch.Generator().manual_seed(derive_seed(self.seed, j))
        return {"block": j, "noise": torch.randn((len(block), *self.shape), generator=g), "conditions": block}


def block_loader(blocks: SampleBlocks) -> DataLoader:
    """A loader of whole blocks; Lightning's predict loop deals them to the ranks without repeating any."""
    return DataLoader(blocks, batch_size=None, shuffle=False)
