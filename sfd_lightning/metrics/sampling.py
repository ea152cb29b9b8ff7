"""Draw this rank's share of per-label samples, deterministically and differently on every rank."""

from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from lightning.pytorch import Trainer

from sfd_lightning.data.sample_blocks import rank_blocks
from sfd_lightning.forgetting.forget_set import ForgetClass
from sfd_lightning.metrics.eval_progress import eval_progress
from sfd_lightning.models.unlearning_module import UnlearningModule

Sampler = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (noise, labels) -> images


def labels_for(label_set: Sequence[int], n_per_label: int, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(list(label_set), device=device).repeat_interleave(n_per_label)  # (K * n,)


def label_subset(
    num_classes: int, forget_label: Union[int, Sequence[int]], max_retained: Optional[int] = None
) -> List[int]:
    """Every forgotten label (one or a list) and the retained labels, at most ``max_retained`` of them, evenly
    spaced."""
    forgotten = [forget_label] if isinstance(forget_label, int) else list(forget_label)
    retained = [c for c in range(num_classes) if c not in forgotten]
    if max_retained and len(retained) > max_retained:
        step = len(retained) / max_retained
        retained = [retained[int(i * step)] for i in range(max_retained)]
    return sorted(forgotten + retained)


def forgotten_classes(pl_module) -> Tuple[ForgetClass, ...]:
    """The classes a class-conditional module forgets, each with its fixed override or None: its ``forget_classes``
    (``UnlearningModule``; the callbacks that call this require one)."""
    return tuple(pl_module.forget_classes)


def sample_labels(
    sampler: Sampler,
    labels: torch.Tensor,
    shape: Sequence[int],
    seed: int,
    batch_size: int,
    trainer: Trainer,
    desc: Optional[str] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Samples for this rank's share of ``labels`` (``rank_blocks``: the noise ``sfd sample`` draws for the same
    seed and batch size); rank 0 shows its progress as ``desc`` when given."""
    images, kept = [], []
    mine = list(rank_blocks(labels, shape, batch_size, seed, trainer.global_rank, trainer.world_size))
    for _, noise, block in eval_progress(mine, len(mine), desc, enabled=trainer.global_rank == 0):
        images.append(sampler(noise.to(labels.device), block))
        kept.append(block)
    if not images:
        return torch.empty((0, *shape), device=labels.device), labels[:0]
    return torch.cat(images), torch.cat(kept)


def generator_sampler(pl_module: UnlearningModule) -> Sampler:
    """What the module draws (``sample_images``): SFD's EMA generator, one network evaluation per image, or a
    baseline's fine-tuned model's multi-step DDIM; decoded for latent models, clamped to [-1, 1]."""
    return lambda noise, labels: pl_module.sample_images(noise, labels).clamp(-1, 1)


def sample_shape(trainer: Trainer) -> Sequence[int]:
    """The generator's output shape, as the noise DataModule declares it."""
    return tuple(trainer.datamodule.shape)


def prompt_samples(
    trainer: Trainer,
    pl_module: UnlearningModule,
    prompts: Sequence[str],
    n_per_prompt: int,
    batch_size: int,
    seed: int,
    sampler: Optional[Sampler] = None,
    desc: Optional[str] = None,
) -> Iterator[Tuple[int, torch.Tensor]]:
    """This rank's blocks of samples for ``prompts`` (each repeated ``n_per_prompt``), with the index of each block's
    first sample among all ranks'; ``sampler`` (default: the module's :func:`generator_sampler`) draws them, and rank 0
    shows its progress as ``desc`` when given."""
    chosen = [p for p in prompts for _ in range(n_per_prompt)]
    sample = sampler or generator_sampler(pl_module)
    mine = list(rank_blocks(chosen, sample_shape(trainer), batch_size, seed, trainer.global_rank, trainer.world_size))
    for start, noise, block in eval_progress(mine, len(mine), desc, enabled=trainer.global_rank == 0):
        yield start, sample(noise.to(pl_module.device), block)
