"""FID of the retained classes (Heusel et al., 2017) with torchmetrics' FrechetInceptionDistance
and a pluggable feature extractor; optionally also for the teacher's multi-step sampler."""
from typing import Dict, List, Optional

from lightning.pytorch import LightningModule, Trainer
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from torchmetrics.image.fid import FrechetInceptionDistance

from sfd_lightning.callbacks.periodic import PeriodicEvalCallback
from sfd_lightning.callbacks.sampling import generator_sampler, labels_for, sample_labels, sample_shape
from sfd_lightning.diffusion.samplers import sample_ddim


def reference_labels(dataset: Dataset) -> List[int]:
    """Every item's label, read from a ``labels``/``targets`` attribute when the dataset has one
    (ours, torchvision's) so the images are not loaded twice."""
    for name in ("labels", "targets"):
        if hasattr(dataset, name):
            return [int(y) for y in getattr(dataset, name)]
    return [int(dataset[i][1]) for i in range(len(dataset))]


class FIDCallback(PeriodicEvalCallback):
    """``fid/generator`` every N iterations; ``fid/teacher`` (``teacher_steps``-step DDIM) once, at the end."""

    final_differs = True

    def __init__(self, reference: Dataset, feature_extractor: nn.Module, n_per_label: int = 200,
                 every_n_iterations: int = 0, teacher_steps: Optional[int] = 50, teacher_cfg_scale: float = 1.0,
                 batch_size: int = 500, seed: int = 4321):
        """
        Args:
            reference: dataset of real (image in [-1, 1], label) pairs; images of retained labels are the reference.
            feature_extractor: module mapping images in [-1, 1] to features, with ``num_features``.
            n_per_label: generated samples per retained label (split across ranks).
            every_n_iterations: evaluate every this many SFD iterations (0: only at the end).
            teacher_steps: steps of the teacher's DDIM sampler for ``fid/teacher`` at the end; null to skip.
            teacher_cfg_scale: classifier-free guidance scale of the teacher sampler (1: none).
            batch_size: images per network call.
            seed: noise seed, fixed so evaluations are comparable.
        """
        super().__init__(every_n_iterations)
        self.reference, self.n_per_label, self.batch_size, self.seed = reference, n_per_label, batch_size, seed
        self.teacher_steps, self.teacher_cfg_scale = teacher_steps, teacher_cfg_scale
        self.fid = FrechetInceptionDistance(feature=feature_extractor, reset_real_features=False)
        self._real_ready = False

    def _retained(self, pl_module: LightningModule):
        return [c for c in range(pl_module.num_classes) if c != pl_module.forget_label]

    def _add_real(self, trainer: Trainer, pl_module: LightningModule) -> None:
        keep = set(self._retained(pl_module))
        labels = reference_labels(self.reference)
        idx = [i for i, label in enumerate(labels) if label in keep]
        shard = Subset(self.reference, idx[trainer.global_rank::trainer.world_size])
        for images, _ in DataLoader(shard, batch_size=self.batch_size):
            self.fid.update(images.to(pl_module.device), real=True)
        self._real_ready = True

    def _fid_of(self, sampler, trainer: Trainer, pl_module: LightningModule, desc: Optional[str] = None) -> float:
        self.fid.reset()  # keeps the real statistics
        labels = labels_for(self._retained(pl_module), self.n_per_label, pl_module.device)
        desc = desc and f"{desc}, {len(labels):,} images"
        images, _ = sample_labels(sampler, labels, sample_shape(trainer), self.seed, self.batch_size, trainer, desc)
        for chunk in images.split(self.batch_size):
            self.fid.update(chunk, real=False)
        return float(self.fid.compute())

    def evaluate(self, trainer: Trainer, pl_module: LightningModule, final: bool) -> Dict[str, float]:
        self.fid.to(pl_module.device)
        if not self._real_ready:
            self._add_real(trainer, pl_module)
        out = {"fid/generator": self._fid_of(generator_sampler(pl_module), trainer, pl_module)}
        if final and self.teacher_steps:
            def teacher(noise, labels):
                x0 = sample_ddim(pl_module.teacher, noise, labels, self.teacher_steps, self.teacher_cfg_scale)
                return pl_module.decode(x0).clamp(-1, 1)
            out["fid/teacher"] = self._fid_of(teacher, trainer, pl_module, f"FID of the teacher ({self.teacher_steps}-step sampler)")
            out["fid/ratio"] = out["fid/generator"] / max(out["fid/teacher"], 1e-12)
        return out
