"""The processes of a benchmark: one, or those ``torchrun`` started (Lightning Fabric's DDP joins them). Every
process draws its share of the images (image i on rank i mod world); rank 0 prepares the folders, judges and
writes the results."""

import os
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class Ranks:
    rank: int
    world: int
    device: torch.device
    barrier: Callable[[], None]

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def mine(self, indices):
        """This process's share of image ``indices``."""
        return [i for i in indices if i % self.world == self.rank]


def join_ranks(device: torch.device) -> Ranks:
    """This process alone on ``device``, or, under ``torchrun`` (WORLD_SIZE > 1), its rank of a Fabric DDP group, one
    GPU a process where there are GPUs."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Ranks(0, 1, device, lambda: None)
    from lightning.fabric import Fabric

    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    fabric = Fabric(
        accelerator="cuda" if device.type == "cuda" else "cpu",
        devices=local,
        num_nodes=max(1, world // local),
        strategy="ddp",
    )
    fabric.launch()
    return Ranks(fabric.global_rank, fabric.world_size, fabric.device, fabric.barrier)
