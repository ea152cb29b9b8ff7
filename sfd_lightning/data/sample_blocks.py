"""What a sampling run draws (``sfd sample``, ``sfd predict``): block j holds ``batch_size`` conditions and
the noise of seed (seed, j), so any number of processes, each taking some blocks, draws the same images."""

import math
from typing import Dict, Iterator, List, Sequence, Tuple, Union

import torch
from torch.utils.data import DataLoader, Dataset

from sfd_lightning.data.finite import require_finite
from sfd_lightning.data.seeding import derive_seed

Conditions = Union[torch.Tensor, List[str]]  # class labels (N,), or prompts


class SampleBlocks(Dataset):
    """Item j: ``{"block": j, "noise": (b, *shape), "conditions": b labels or prompts}``."""

    def __init__(self, conditions: Conditions, shape: Sequence[int], batch_size: int, seed: int = 0):
        self.conditions, self.shape, self.batch_size, self.seed = conditions, tuple(shape), batch_size, seed

    def __len__(self) -> int:
        return math.ceil(len(self.conditions) / self.batch_size)

    def __getitem__(self, j: int) -> Dict[str, object]:
        block = self.conditions[j * self.batch_size : (j + 1) * self.batch_size]
        g = torch.Generator().manual_seed(derive_seed(self.seed, j))
        return {"block": j, "noise": torch.randn((len(block), *self.shape), generator=g), "conditions": block}


def rank_blocks(
    conditions: Conditions, shape: Sequence[int], batch_size: int, seed: int, rank: int = 0, world: int = 1
) -> Iterator[Tuple[int, torch.Tensor, Conditions]]:
    """This rank's blocks, ``(start, noise, conditions)``: block j goes to rank j mod world, so the ranks together
    draw exactly what one process (or ``sfd sample`` with the same seed and batch size) draws."""
    blocks = SampleBlocks(conditions, shape, batch_size, seed)
    for j in range(rank, len(blocks), world):
        item = blocks[j]
        yield j * batch_size, item["noise"], item["conditions"]


def block_output(batch: Dict[str, object], images: torch.Tensor, field: str = "model") -> Dict[str, object]:
    """A predict step's output for one block (what ``SampleWriter`` gathers): its index, images in [-1, 1] and
    conditions, on the CPU. A block with NaN/inf images stops the run (naming ``field``, the model's option)
    before anything is written: clamping would pass infinities off as images, and NaN images as samples."""
    require_finite(
        images,
        field,
        f"images of block {batch['block']}",
        "so nothing is written (a model with NaN/inf weights, or a non-finite input such as a CFG scale)",
    )
    conditions = batch["conditions"]
    return {
        "block": batch["block"],
        "images": images.clamp(-1, 1).float().cpu(),
        "conditions": conditions.cpu() if isinstance(conditions, torch.Tensor) else conditions,
    }


def block_loader(blocks: SampleBlocks) -> DataLoader:
    """A loader of whole blocks; Lightning's predict loop deals them to the ranks without repeating any."""
    return DataLoader(blocks, batch_size=None, shuffle=False)
