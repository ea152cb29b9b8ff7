"""FID of the retained classes (Heusel et al., 2017) with torchmetrics' FrechetInceptionDistance
and a pluggable feature extractor; optionally also for the teacher's multi-step sampler, whose
value a cache file can keep between runs."""

from typing import Dict, List, Optional

from lightning.pytorch import LightningModule, Trainer
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from torchmetrics.image.fid import FrechetInceptionDistance

from sfd_lightning.callbacks.periodic import PeriodicEvalCallback
from sfd_lightning.data.finite import ranks_sum, require_finite
from sfd_lightning.errors import ConfigError
from sfd_lightning.metrics.result_cache import ResultCache, StreamDigest, module_digest
from sfd_lightning.metrics.sampling import forgotten_classes, generator_sampler, labels_for, sample_labels, sample_shape
from sfd_lightning.metrics.spread import with_spread


def reference_labels(dataset: Dataset) -> List[int]:
    """Every item's label, read from a ``labels``/``targets`` attribute when the dataset has one
    (ours, torchvision's) so the images are not loaded twice."""
    for name in ("labels", "targets"):
        if hasattr(dataset, name):
            return [int(y) for y in getattr(dataset, name)]
    return [int(dataset[i][1]) for i in range(len(dataset))]


class FIDCallback(PeriodicEvalCallback):
    """``fid/generator`` every N iterations; ``fid/teacher`` (``teacher_steps``-step DDIM) and ``fid/ratio`` once,
    at the end. With ``n_seeds`` > 1 each is the mean over the seeds, and ``<name>_spread`` half their range."""

    final_differs = True

    def __init__(
        self,
        reference: Dataset,
        feature_extractor: nn.Module,
        n_per_label: int = 200,
        every_n_iterations: int = 0,
        teacher_steps: Optional[int] = 50,
        teacher_cfg_scale: float = 1.0,
        batch_size: int = 500,
        seed: int = 4321,
        n_seeds: int = 1,
        teacher_cache: Optional[str] = None,
    ):
        """
        Args:
            reference: dataset of real (image in [-1, 1], label) pairs; images of retained labels (every class not
                forgotten) are the reference.
            feature_extractor: module mapping images in [-1, 1] to features, with ``num_features``.
            n_per_label: generated samples per retained label (split across ranks).
            every_n_iterations: evaluate every this many SFD iterations (0: only at the end).
            teacher_steps: steps of the teacher's DDIM sampler for ``fid/teacher`` at the end; null to skip.
            teacher_cfg_scale: classifier-free guidance scale of the teacher sampler (1: none).
            batch_size: images per network call.
            seed: noise seed, fixed so evaluations are comparable.
            n_seeds: evaluate with the noise of seeds ``seed``, ``seed + 1``, ...: an FID per seed, reported as
                their mean and spread (sampling noise beside the value).
            teacher_cache: a JSON table of the teacher's FIDs, read when the teacher's weights, the feature
                extractor's weights, the real images and every sampling setting match; a miss is computed and
                added to the user cache (``$SFD_CACHE_DIR``, default ``~/.cache/sfd-lightning``), never to this
                file (null: always computed).
        """
        super().__init__(every_n_iterations)
        if n_seeds < 1:
            raise ConfigError("n_seeds", f"must be >= 1, got {n_seeds}")
        self.reference, self.n_per_label, self.batch_size = reference, n_per_label, batch_size
        self.seeds = [seed + i for i in range(n_seeds)]
        self.teacher_steps, self.teacher_cfg_scale = teacher_steps, teacher_cfg_scale
        self.cache = ResultCache(teacher_cache) if teacher_cache else None
        self.feature_extractor = feature_extractor
        self.fid = FrechetInceptionDistance(feature=feature_extractor, reset_real_features=False)
        self._real_ready = False
        self._real_digest = StreamDigest()  # of the real images this rank fed: the reference's identity

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        if self.cache is not None and trainer.is_global_zero:
            self.cache.check()  # a corrupt cache file is said now, not after training

    def _retained(self, pl_module: LightningModule):
        forgotten = {c.label for c in forgotten_classes(pl_module)}
        return [c for c in range(pl_module.num_classes) if c not in forgotten]

    def _add_real(self, trainer: Trainer, pl_module: LightningModule) -> None:
        keep = set(self._retained(pl_module))
        labels = reference_labels(self.reference)
        idx = [i for i, label in enumerate(labels) if label in keep]
        shard = Subset(self.reference, idx[trainer.global_rank :: trainer.world_size])
        for images, _ in DataLoader(shard, batch_size=self.batch_size):
            self._real_digest.update(images)
            self.fid.update(images.to(pl_module.device), real=True)
        self._real_ready = True

    def _fid_of(
        self, sampler, seed: int, trainer: Trainer, pl_module: LightningModule, desc: Optional[str] = None
    ) -> float:
        self.fid.reset()  # keeps the real statistics
        labels = labels_for(self._retained(pl_module), self.n_per_label, pl_module.device)
        desc = desc and f"{desc}, seed {seed}, {len(labels):,} images"
        images, _ = sample_labels(sampler, labels, sample_shape(trainer), seed, self.batch_size, trainer, desc)
        require_finite(images, "trainer.callbacks.FIDCallback", "generated images", reduce=ranks_sum(trainer))
        for chunk in images.split(self.batch_size):
            self.fid.update(chunk, real=False)
        return float(self.fid.compute())

    def _teacher_fids(self, trainer: Trainer, pl_module: LightningModule) -> List[float]:
        """The teacher's FID for each seed: from the cache when it holds this teacher and these settings."""

        def teacher(noise, labels):
            return pl_module.teacher_images(noise, labels, self.teacher_steps, self.teacher_cfg_scale)

        desc = f"FID of the teacher ({self.teacher_steps}-step sampler)"
        if self.cache is None:
            return [self._fid_of(teacher, seed, trainer, pl_module, desc) for seed in self.seeds]
        parts = self._cache_parts(trainer, pl_module)  # the digests once, not once a seed
        values = []
        for seed in self.seeds:
            key = dict(parts, seed=seed)
            cached = trainer.strategy.broadcast(
                self.cache.lookup(key) if trainer.is_global_zero else None
            )  # ranks agree
            if cached is None:
                cached = self._fid_of(teacher, seed, trainer, pl_module, desc)
                if trainer.is_global_zero:
                    self.cache.store(key, cached)
            values.append(float(cached))
        return values

    def _cache_parts(self, trainer: Trainer, pl_module: LightningModule) -> Dict:
        """Every input of the teacher's FID but the seed: weights, real images, feature extractor, sampling settings."""
        autoencoder = pl_module.autoencoder
        return {
            "metric": "fid/teacher",
            "teacher": module_digest(pl_module.teacher),
            "features": module_digest(self.feature_extractor),
            "real_images": self._real_digest.hexdigest(),
            "autoencoder": module_digest(autoencoder) if autoencoder is not None else None,
            "labels": self._retained(pl_module),
            "n_per_label": self.n_per_label,
            "batch_size": self.batch_size,
            "shape": list(sample_shape(trainer)),
            "steps": self.teacher_steps,
            "cfg_scale": self.teacher_cfg_scale,
            "world_size": trainer.world_size,
        }

    def evaluate(self, trainer: Trainer, pl_module: LightningModule, final: bool) -> Dict[str, float]:
        self.fid.to(pl_module.device)
        if not self._real_ready:
            self._add_real(trainer, pl_module)
        generator = [self._fid_of(generator_sampler(pl_module), seed, trainer, pl_module) for seed in self.seeds]
        out = with_spread("fid/generator", generator)
        if final and self.teacher_steps:
            teacher = self._teacher_fids(trainer, pl_module)
            out.update(with_spread("fid/teacher", teacher))
            out.update(with_spread("fid/ratio", [g / max(t, 1e-12) for g, t in zip(generator, teacher)]))
        return out
