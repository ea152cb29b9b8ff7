"""An exported classifier asset as a judge: the digits classifier (``assets/digits_classifier.pt``, the attacks'
surrogate and the forget-accuracy callbacks' judge) or the independent judge (``assets/digits_judge.pt``, an MLP of
another architecture and seed)."""

from typing import Optional

import torch
from torch import nn

from sfd_lightning.io.asset import load_exported
from sfd_lightning.io.source import Source
from sfd_lightning.judges.protocol import ClassJudge
from sfd_lightning.models.frozen import freeze


def load_classifier(path: str, field: str, device: Optional[torch.device] = None) -> nn.Module:
    """An exported classifier asset, frozen in eval mode (on ``device`` if given)."""
    classifier = freeze(load_exported(Source(path, field), "classifier"))
    return classifier if device is None else classifier.to(device)


class ClassifierJudge(ClassJudge):
    """A classifier module's logits and penultimate features; differentiable to the images."""

    name = "classifier"
    differentiable = True
    spelling = ""  # an attack option names it by the asset's path

    def __init__(self, classifier: nn.Module, label: str = "judge", device: Optional[torch.device] = None):
        """
        Args:
            classifier: the classifier (frozen), with a ``features(images)`` method where it serves an attack.
            label: what refusals of its verdicts name.
            device: where it runs (default: where it is).
        """
        self.classifier, self.label = classifier, label
        if device is not None:
            self.to(device)

    @classmethod
    def load(
        cls, path: str, field: str, device: Optional[torch.device] = None, label: str = "judge"
    ) -> "ClassifierJudge":
        """The exported classifier asset at ``path`` (``field``: the option that named it, for errors)."""
        return cls(load_classifier(path, field, device), label)

    @classmethod
    def from_spec(cls, text: str, field: str, label: str, device: torch.device, **_) -> "ClassifierJudge":
        return cls.load(text, field, device, label)

    def to(self, device: torch.device) -> "ClassifierJudge":
        self.classifier.to(device)
        self.device = torch.device(device)
        return self

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(images)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(images)
