"""Classifier features: the channels a classifier reads come from the classifier, convolutional or not."""

import torch
from project import ASSETS

from sfd_lightning.metrics.features import ClassifierFeatures


def test_the_mlp_judge_reads_gray_images_from_rgb_files():
    """The independent digits judge has no convolution; `sfd eval --classifier` with it stopped with StopIteration."""
    features = ClassifierFeatures(str(ASSETS / "digits_judge.pt"), "--classifier")
    gray = torch.rand(4, 1, 8, 8) * 2 - 1
    out = features.extract(gray.repeat(1, 3, 1, 1))
    assert features.grayscale and out["logits"].shape == (4, 10)
    torch.testing.assert_close(out["logits"], features.extract(gray)["logits"])
