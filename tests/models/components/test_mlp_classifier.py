"""The digits default's independent judge: another architecture than the attack's surrogate, and accurate."""

import torch
from torch import nn

from sfd_lightning.data.digits import DigitsDataset
from sfd_lightning.io.asset import load_exported
from sfd_lightning.io.source import Source
from sfd_lightning.models.components import MLPClassifier


def test_features_and_logits_shapes():
    net = MLPClassifier(in_channels=1, resolution=8, num_classes=10, hidden=(32, 16))
    x = torch.randn(5, 1, 8, 8)
    assert net.features(x).shape == (5, 16) and net(x).shape == (5, 10)


def test_shipped_judge_differs_from_the_surrogate_and_classifies_digits():
    judge = load_exported(Source("assets/digits_judge.pt", "judge"), "classifier").eval()
    surrogate = load_exported(Source("assets/digits_classifier.pt", "surrogate"), "classifier").eval()
    assert isinstance(judge, MLPClassifier) and not any(isinstance(m, nn.Conv2d) for m in judge.modules())
    assert type(surrogate) is not type(judge)
    val = DigitsDataset("val")
    with torch.no_grad():
        accuracy = (judge(val.images).argmax(1) == val.labels).float().mean().item()
    assert accuracy >= 0.95
