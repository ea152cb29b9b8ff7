"""Sampling split across processes started by torchrun: rank, world size, and collecting the shards.

Each rank writes its blocks to a shard file beside the output; rank 0 interleaves them back into
the single-process order (block j came from rank j mod world) and removes the shards.
"""
import os
from typing import Tuple

import torch
import torch.distributed as dist


def distributed_rank_and_world() -> Tuple[int, int]:
    """(rank, world size); starts the process group when torchrun's environment asks for several processes."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def gather_on_rank_zero(images: torch.Tensor, out: str, rank: int, world: int, batch_size: int, total: int) -> torch.Tensor:
    """Rank 0 gets every rank's images in single-process order; other ranks get an empty tensor."""
    shard = f"{out}.rank{rank}.pt"
    torch.save(images, shard)
    dist.barrier()
    if rank != 0:
        dist.barrier()
        return images[:0]
    shards = [torch.load(f"{out}.rank{r}.pt", weights_only=True) for r in range(world)]
    blocks = [list(s.split(batch_size)) for s in shards]
    n_blocks = -(-total // batch_size)
    ordered = [blocks[j % world][j // world] for j in range(n_blocks)]
    for r in range(world):
        os.remove(f"{out}.rank{r}.pt")
    dist.barrier()
    return torch.cat(ordered)
