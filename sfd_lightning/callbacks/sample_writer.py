"""Samples of Lightning's predict loop to one ``.npz`` and a grid, whatever the number of processes."""

import os
from typing import Any, Dict, List, Optional

import numpy as np
import torch
import torch.distributed as dist
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter
from torchvision.utils import save_image

from sfd_lightning.callbacks.image_grid import class_row_labels, label_grid
from sfd_lightning.data.noise import NoiseLabelDataModule
from sfd_lightning.errors import ConfigError
from sfd_lightning.models.unlearning_module import UnlearningModule


def _flat(predictions: List[Any]) -> List[Dict[str, Any]]:
    """One dataloader's outputs, or the outputs of several (a list per dataloader)."""
    return [p for group in predictions for p in (group if isinstance(group, list) else [group])]


def grid_path(out: str) -> str:
    """The PNG grid written beside the samples' ``.npz``."""
    return os.path.splitext(out)[0] + ".png"


def check_samples_out(out: str, field: str, overwrite: bool = True) -> None:
    """Refuse, before sampling, an ``out`` without the ``.npz`` suffix (numpy would add one: the file written would
    not be the one named), or, unless ``overwrite``, one whose ``.npz`` or grid is already there."""
    if not out.endswith(".npz"):
        raise ConfigError(field, f"must end in .npz (the samples' file; the grid goes beside it), got {out!r}")
    there = [path for path in (out, grid_path(out)) if os.path.exists(path)]
    if there and not overwrite:
        raise ConfigError(field, f"{there[0]!r} exists; give a new name, or --overwrite to replace it")


def save_samples(
    out: str, images: torch.Tensor, conditions, n_per_condition: Optional[int] = None, num_classes: Optional[int] = None
) -> str:
    """``images`` (N, C, H, W) in [-1, 1] with ``labels`` (N,) int64 or ``prompts`` (N,) to ``out``; a grid (a row
    per condition, captioned) beside it when the samples come ``n_per_condition`` a condition. Returns the grid path."""
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    prompts = not isinstance(conditions, torch.Tensor)
    extra = {"prompts": np.array(conditions, dtype=str)} if prompts else {"labels": conditions.numpy().astype(np.int64)}
    np.savez(out, images=images.numpy().astype(np.float32), **extra)
    n = n_per_condition or len(images)
    rows = list(conditions[::n])
    captions = [str(p) for p in rows] if prompts else class_row_labels([int(c) for c in rows], None, num_classes or 0)
    grid = grid_path(out)
    save_image(label_grid(images, n, row_labels=captions), grid)
    return grid


class SampleWriter(BasePredictionWriter):
    """Writes ``sfd predict``'s (and ``sfd sample``'s) samples: every rank's blocks gathered on rank 0, in block
    order, to one ``.npz`` (``images``, ``labels`` or ``prompts``) and a PNG grid beside it."""

    def __init__(self, out: Optional[str] = None, n_per_condition: Optional[int] = None):
        """
        Args:
            out: the .npz to write (default: ``<trainer.default_root_dir>/samples.npz``).
            n_per_condition: samples per label or prompt, for the grid's rows (default: the data's).
        """
        super().__init__(write_interval="epoch")
        if out is not None:
            check_samples_out(out, "SampleWriter.out")
        self.out, self.n_per_condition = out, n_per_condition
        self.written: Optional[str] = None

    def write_on_epoch_end(self, trainer: Trainer, pl_module: LightningModule, predictions, batch_indices) -> None:
        mine = {int(p["block"]): (p["images"], p["conditions"]) for p in _flat(predictions)}
        if dist.is_available() and dist.is_initialized() and trainer.world_size > 1:
            gathered = [None] * trainer.world_size if trainer.is_global_zero else None
            dist.gather_object(mine, gathered, dst=0)
            if trainer.is_global_zero:
                mine = {j: block for part in gathered for j, block in part.items()}
        if not trainer.is_global_zero:
            return
        blocks = [mine[j] for j in sorted(mine)]
        images = torch.cat([b[0] for b in blocks])
        labels = blocks[0][1]
        conditions = (
            torch.cat([b[1] for b in blocks]) if isinstance(labels, torch.Tensor) else [c for b in blocks for c in b[1]]
        )
        self.written = self.out or os.path.join(trainer.default_root_dir, "samples.npz")
        data = trainer.datamodule
        n = self.n_per_condition or (data.predict_n_per_label if isinstance(data, NoiseLabelDataModule) else None)
        num_classes = pl_module.num_classes if isinstance(pl_module, UnlearningModule) else None
        grid = save_samples(self.written, images, conditions, n, num_classes)
        print(f"wrote {len(images)} samples to {self.written} and a grid to {grid}", flush=True)
