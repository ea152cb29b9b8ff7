"""Non-finite images never reach a score: the shared check, and the metric entry points that run it."""

from types import SimpleNamespace

import pytest
import torch

from sfd_lightning.callbacks.forget_accuracy import ForgetAccuracyCallback
from sfd_lightning.data.finite import NonFiniteImagesError, count_nonfinite, require_finite
from sfd_lightning.forgetting import ForgetClass
from sfd_lightning.metrics.forget import ForgetMetrics

NAN, INF = float("nan"), float("inf")


def test_counts_images_with_any_nonfinite_pixel():
    images = torch.zeros(5, 1, 2, 2)
    images[1, 0, 0, 0] = NAN
    images[3, 0, 1, 1] = -INF
    images[3, 0, 0, 1] = NAN  # two bad pixels, one bad image
    assert count_nonfinite(images) == 2 and count_nonfinite(images[:1]) == 0 and count_nonfinite(images[:0]) == 0
    with pytest.raises(NonFiniteImagesError, match=r"^samples: 2 of 5 images are not finite \(NaN or inf\)"):
        require_finite(images, "samples")
    require_finite(images[[0, 2, 4]], "samples")  # finite images pass


def classifier():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))


def nan_for_forget_label(noise, labels):
    """A generator whose forget-label (0) samples are NaN, as a broken forgetting run's could be."""
    return torch.where((labels == 0).view(-1, 1, 1, 1), torch.full_like(noise, NAN), noise.clamp(-1, 1))


def test_forget_accuracy_callback_refuses_nan_samples():
    """Without the check, NaN samples' NaN logits argmax to a class and count as forgotten."""
    module = SimpleNamespace(
        num_classes=3,
        forget_label=0,
        forget_classes=(ForgetClass(0, 1),),
        device=torch.device("cpu"),
        sample_images=nan_for_forget_label,
    )
    trainer = SimpleNamespace(global_rank=0, world_size=1, datamodule=SimpleNamespace(shape=(1, 8, 8)))
    callback = ForgetAccuracyCallback(classifier=classifier(), n_per_label=4, batch_size=5)
    with pytest.raises(NonFiniteImagesError, match="ForgetAccuracyCallback: 4 of 12 generated images are not finite"):
        callback.evaluate(trainer, module, final=True)
    module.sample_images = lambda noise, labels: noise.clamp(-1, 1)
    assert 0.0 <= callback.evaluate(trainer, module, final=True)["forget/accuracy"] <= 1.0


def test_forget_metrics_refuse_nonfinite_logits():
    """Counted apart in ``update`` (a rank must not raise alone under DDP), refused by ``compute`` after the sync."""
    metric = ForgetMetrics(num_classes=3, forget_label=0, override_label=1)
    logits = torch.zeros(4, 3)
    logits[2, 1] = NAN
    metric.update(logits, torch.tensor([0, 0, 1, 2]))
    assert metric.count.sum() == 3  # the NaN row is not a verdict
    with pytest.raises(NonFiniteImagesError, match="1 of 4 classifier outputs"):
        metric.compute()


def test_every_rank_refuses_when_any_rank_holds_nonfinite_images():
    """``reduce`` sums the counts over ranks: this rank's images are finite, another rank's 2 of 6 are not."""
    other_rank = torch.tensor([2.0, 6.0])
    with pytest.raises(NonFiniteImagesError, match="2 of 10 images are not finite"):
        require_finite(torch.zeros(4, 1, 2, 2), "samples", reduce=lambda counts: counts + other_rank)
