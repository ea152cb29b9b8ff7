"""The class-conditional evaluation callbacks with several forgotten classes: each judged, left out of FID, marked."""

from types import SimpleNamespace

import pytest
import torch
from pixel_classifier import PixelClassifier

from sfd_lightning.callbacks.fid import FIDCallback
from sfd_lightning.callbacks.forget_accuracy import ForgetAccuracyCallback
from sfd_lightning.callbacks.image_grid import class_row_labels
from sfd_lightning.forgetting.forget_set import ForgetClass
from sfd_lightning.metrics.sampling import label_subset

K = 5


def drawing(shown):
    """A generator that draws class ``shown[c]`` (default c itself) when asked for class c."""

    def sample_images(noise, labels):
        drawn = torch.tensor([shown.get(int(c), int(c)) for c in labels], dtype=noise.dtype) / K
        return drawn.view(-1, 1, 1, 1).expand_as(noise).clone()

    return sample_images


def module(classes, shown):
    return SimpleNamespace(
        num_classes=K, forget_classes=classes, device=torch.device("cpu"), sample_images=drawing(shown)
    )


TRAINER = SimpleNamespace(global_rank=0, world_size=1, datamodule=SimpleNamespace(shape=(1, 2, 2)))


def test_the_callback_judges_every_forgotten_class():
    """Class 1 forgotten into its override 2; class 3 still drawn (no fixed override); 0, 2, 4 retained."""
    classes = (ForgetClass(1, 2), ForgetClass(3, None))
    callback = ForgetAccuracyCallback(classifier=PixelClassifier(K), n_per_label=4, batch_size=3)
    out = callback.evaluate(TRAINER, module(classes, {1: 2}), final=True)
    assert out["forget/accuracy_1"] == 0.0 and out["forget/accuracy_3"] == 1.0
    assert out["forget/accuracy"] == 1.0 and out["forget/accuracy_mean"] == pytest.approx(0.5)
    assert out["forget/override_rate"] == 1.0  # over class 1's samples only: 3 has no fixed override
    assert out["retained/accuracy"] == 1.0 and {f"retained/accuracy_{c}" for c in (0, 2, 4)} <= set(out)


def test_one_forgotten_class_keeps_the_keys_it_had():
    callback = ForgetAccuracyCallback(classifier=PixelClassifier(K), n_per_label=2, batch_size=4)
    out = callback.evaluate(TRAINER, module((ForgetClass(1, 2),), {1: 2}), final=True)
    assert not any(k.startswith("forget/accuracy_") for k in out) and out["forget/override_rate"] == 1.0


def test_fid_leaves_out_every_forgotten_class():
    cb = FIDCallback.__new__(FIDCallback)  # only its choice of classes is under test
    assert cb._retained(module((ForgetClass(1, 2), ForgetClass(3, None)), {})) == [0, 2, 4]
    assert cb._retained(module((ForgetClass(1, 2),), {})) == [0, 2, 3, 4]


def test_every_forgotten_label_is_kept_when_retained_ones_are_thinned():
    assert label_subset(10, [0, 3, 5], max_retained=2) == [0, 1, 3, 5, 6]
    assert label_subset(10, 0, max_retained=3) == [0, 1, 4, 7]  # one label as before
    assert class_row_labels([0, 1, 3], [0, 3], 10) == ["0 (forgotten)", "1", "3 (forgotten)"]
