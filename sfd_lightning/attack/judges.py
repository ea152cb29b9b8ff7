"""The classifiers around an attack: the surrogate it optimises against, and the judges that score it.

A judge only ever sees detached images under ``torch.no_grad``: no gradient can flow from it into
an attack. The digits default's independent judge is ``assets/digits_judge.pt`` (an MLP, another
architecture and seed than the surrogate ``assets/digits_classifier.pt``).
"""
from typing import Dict

import torch
from torch import nn

from sfd_lightning.data.finite import require_finite
from sfd_lightning.io.asset import load_exported
from sfd_lightning.io.source import Source
from sfd_lightning.models.frozen import freeze


def load_classifier(path: str, field: str, device: torch.device) -> nn.Module:
    """An exported classifier asset, frozen in eval mode."""
    return freeze(load_exported(Source(path, field), "classifier").to(device))


class Surrogate:
    """The attack's classifier: log-probabilities and features with gradients to the images."""

    def __init__(self, classifier: nn.Module):
        self.classifier = classifier

    def log_prob(self, images: torch.Tensor, cls: int) -> torch.Tensor:
        """(B,) log p(cls | image)."""
        return self.classifier(images).log_softmax(dim=1)[:, cls]

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(images)


class Judge:
    """A classifier's verdicts on images, never differentiated through."""

    def __init__(self, name: str, classifier: nn.Module):
        self.name, self.classifier = name, classifier

    @torch.no_grad()
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """(B, K) logits of images without NaN/inf pixels (a NaN image would be judged as some class)."""
        require_finite(images, f"attack judge {self.name}")
        return self.classifier(images.detach())

    def classes(self, images: torch.Tensor) -> torch.Tensor:
        return self.logits(images).argmax(dim=1)

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        return self.logits(images).softmax(dim=1)


def verdicts(judges: Dict[str, Judge], images: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Each judge's predicted classes of the same images."""
    return {name: judge.classes(images) for name, judge in judges.items()}


def rates(judges: Dict[str, Judge], images: torch.Tensor, classes: torch.Tensor) -> Dict[str, float]:
    """Each judge's share of ``images`` it assigns to ``classes`` (one class, or one per image)."""
    return {name: (pred == classes.to(pred.device)).float().mean().item() for name, pred in verdicts(judges, images).items()}
