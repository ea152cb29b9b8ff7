"""Draw this rank's share of per-label samples, deterministically and differently on every rank."""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from lightning.pytorch import LightningModule, Trainer

from sfd_lightning.callbacks.eval_progress import eval_progress

Sampler = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (noise, labels) -> images


def labels_for(label_set: Sequence[int], n_per_label: int, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(list(label_set), device=device).repeat_interleave(n_per_label)  # (K * n,)


def label_subset(num_classes: int, forget_label: int, max_retained: Optional[int] = None) -> List[int]:
    """The forget label and the retained labels, at most ``max_retained`` of them, evenly spaced."""
    retained = [c for c in range(num_classes) if c != forget_label]
    if max_retained and len(retained) > max_retained:
        step = len(retained) / max_retained
        retained = [retained[int(i * step)] for i in range(max_retained)]
    return sorted([forget_label] + retained)


def sample_labels(sampler: Sampler, labels: torch.Tensor, shape: Sequence[int], seed: int,
                  batch_size: int, trainer: Trainer, desc: Optional[str] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Samples for this rank's share of ``labels``; rank 0 shows its progress as ``desc`` when given.

    The labels are cut into blocks of ``batch_size``; block j takes the noise of seed (seed, j) and
    goes to rank j mod world_size, so the ranks together draw exactly what one process would.
    """
    images, kept = [], []
    starts = list(enumerate(range(0, len(labels), batch_size)))
    mine = [(j, start) for j, start in starts if j % trainer.world_size == trainer.global_rank]
    for j, start in eval_progress(mine, len(mine), desc, enabled=trainer.global_rank == 0):
        block = labels[start:start + batch_size]
        g = torch.Generator().manual_seed(seed * 1_000_003 + j)
        noise = torch.randn((len(block), *shape), generator=g).to(labels.device)
        images.append(sampler(noise, block))
        kept.append(block)
    if not images:
        return torch.empty((0, *shape), device=labels.device), labels[:0]
    return torch.cat(images), torch.cat(kept)


def generator_sampler(pl_module: LightningModule) -> Sampler:
    """The EMA generator, one network evaluation per image (decoded to images for latent models)."""
    return lambda noise, labels: pl_module.decode(pl_module.generate(noise, labels, ema=True)).clamp(-1, 1)


def sample_shape(trainer: Trainer) -> Sequence[int]:
    """The generator's output shape, as the noise DataModule declares it."""
    return tuple(trainer.datamodule.shape)
