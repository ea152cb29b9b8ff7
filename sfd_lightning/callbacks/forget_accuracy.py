"""Forget-class accuracy of the EMA generator, judged by a classifier (SFD, Chen et al. 2025, sec. 5)."""
from typing import Dict

from lightning.pytorch import LightningModule, Trainer

from sfd_lightning.callbacks.forget_metrics import ForgetMetrics
from sfd_lightning.callbacks.periodic import PeriodicEvalCallback
from sfd_lightning.callbacks.sampling import generator_sampler, labels_for, sample_labels, sample_shape
from sfd_lightning.checkpoints import load_exported
from sfd_lightning.models.frozen import freeze


class ForgetAccuracyCallback(PeriodicEvalCallback):
    """Generate ``n_per_label`` samples for every label and classify them."""

    def __init__(self, classifier_ckpt: str, n_per_label: int = 100, every_n_iterations: int = 0,
                 batch_size: int = 500, seed: int = 1234):
        """
        Args:
            classifier_ckpt: exported classifier asset that judges the samples.
            n_per_label: samples generated for each label (split across ranks).
            every_n_iterations: evaluate every this many SFD iterations (0: only at the end).
            batch_size: samples per generator call.
            seed: noise seed, fixed so evaluations are comparable across iterations and runs.
        """
        super().__init__(every_n_iterations)
        field = "trainer.callbacks.ForgetAccuracyCallback.classifier_ckpt"
        self.classifier = freeze(load_exported(classifier_ckpt, field, "classifier"))
        self.n_per_label, self.batch_size, self.seed = n_per_label, batch_size, seed

    def evaluate(self, trainer: Trainer, pl_module: LightningModule, final: bool) -> Dict[str, float]:
        override = getattr(pl_module.override, "label", None)
        metric = ForgetMetrics(pl_module.num_classes, pl_module.forget_label, override).to(pl_module.device)
        self.classifier.to(pl_module.device)
        labels = labels_for(range(pl_module.num_classes), self.n_per_label, pl_module.device)
        images, labels = sample_labels(generator_sampler(pl_module), labels, sample_shape(trainer), self.seed, self.batch_size, trainer)
        for chunk, chunk_labels in zip(images.split(self.batch_size), labels.split(self.batch_size)):
            metric.update(self.classifier(chunk), chunk_labels)
        return metric.compute()
