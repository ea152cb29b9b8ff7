"""Forget-class accuracy of the EMA generator, judged by a classifier (SFD, Chen et al. 2025, sec. 5)."""

from typing import Dict, Optional

from lightning.pytorch import LightningModule, Trainer
from torch import nn

from sfd_lightning.callbacks.periodic import PeriodicEvalCallback
from sfd_lightning.data.finite import ranks_sum, require_finite
from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.classifier import ClassifierJudge, load_classifier
from sfd_lightning.metrics.forget import ForgetMetrics
from sfd_lightning.metrics.sampling import (
    forgotten_classes,
    generator_sampler,
    label_subset,
    labels_for,
    sample_labels,
    sample_shape,
)
from sfd_lightning.models.frozen import freeze


class ForgetAccuracyCallback(PeriodicEvalCallback):
    """Generate ``n_per_label`` samples for every label and classify them: ``forget/accuracy`` (the worst forgotten
    class's; per class and their mean too when several are forgotten) and ``retained/accuracy``."""

    def __init__(
        self,
        classifier_ckpt: Optional[str] = None,
        n_per_label: int = 100,
        every_n_iterations: int = 0,
        batch_size: int = 500,
        seed: int = 1234,
        classifier: Optional[nn.Module] = None,
        max_retained_labels: Optional[int] = None,
    ):
        """
        Args:
            classifier_ckpt: exported classifier asset that judges the samples (or give ``classifier``).
            n_per_label: samples generated for each label (split across ranks).
            every_n_iterations: evaluate every this many SFD iterations (0: only at the end).
            batch_size: samples per generator call.
            seed: noise seed, fixed so evaluations are comparable across iterations and runs.
            classifier: a classifier module instead of an asset, e.g. a pretrained ImageNet ResNet.
            max_retained_labels: judge at most this many retained labels, evenly spaced (1,000-class models); every
                forgotten label is judged.
        """
        super().__init__(every_n_iterations)
        field = "trainer.callbacks.ForgetAccuracyCallback.classifier_ckpt"
        if (classifier_ckpt is None) == (classifier is None):
            raise ConfigError(field, "give exactly one of classifier_ckpt and classifier")
        self.judge = ClassifierJudge(
            freeze(classifier) if classifier is not None else load_classifier(classifier_ckpt, field)
        )
        self.n_per_label, self.batch_size, self.seed = n_per_label, batch_size, seed
        self.max_retained_labels = max_retained_labels

    def evaluate(self, trainer: Trainer, pl_module: LightningModule, final: bool) -> Dict[str, float]:
        classes = forgotten_classes(pl_module)  # a baseline's override may be none
        forget = [c.label for c in classes]
        metric = ForgetMetrics(pl_module.num_classes, forget, [c.override for c in classes]).to(pl_module.device)
        self.judge.to(pl_module.device)
        labels = labels_for(
            label_subset(pl_module.num_classes, forget, self.max_retained_labels), self.n_per_label, pl_module.device
        )
        images, labels = sample_labels(
            generator_sampler(pl_module), labels, sample_shape(trainer), self.seed, self.batch_size, trainer
        )
        require_finite(
            images, "trainer.callbacks.ForgetAccuracyCallback", "generated images", reduce=ranks_sum(trainer)
        )
        for chunk, chunk_labels in zip(images.split(self.batch_size), labels.split(self.batch_size)):
            metric.update(self.judge.logits(chunk), chunk_labels)
        return metric.compute()
