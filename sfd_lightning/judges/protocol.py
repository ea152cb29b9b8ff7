"""The one judge protocol: for a batch of images (B, C, H, W) in [-1, 1] a judge answers the class (a
:class:`ClassJudge`: the forget-accuracy classifiers, CLIP zero-shot over class words) or whether the forgotten
concept is present (a :class:`ConceptJudge`: NudeNet's nudity, face identity).

A judge's verdicts (``classes``, ``probabilities``, ``present``, ``share``) are only ever taken on detached images
under ``torch.no_grad``: no gradient can flow from a verdict into an attack. Only a judge that says it is
``differentiable`` can serve as an attack's surrogate, through the gradient side of :class:`Surrogate`.
"""

import argparse
from typing import Dict, Optional

import torch
from torchmetrics import Metric

from sfd_lightning.data.finite import require_finite


class Judge:
    """What every judge says about itself: its registry ``name``, whether gradients reach the images through it
    (``differentiable``: it may be an attack's surrogate), its ``device``, and ``label``, what refusals of its
    verdicts name (``attack judge judge``). ``sfd eval``'s concept judges add their options with ``add_arguments``
    and are built by ``from_arguments``."""

    name: str = ""
    spelling: str = ""  # how an attack option names it (``nudenet[:THRESHOLD]``); "" for a path
    differentiable: bool = False
    device: torch.device = torch.device("cpu")
    label: str = "judge"

    @classmethod
    def from_spec(cls, text: str, field: str, label: str, **context) -> "Judge":
        """The judge an attack option's ``text`` names (``field``: the option); ``context``: ``forget_class``,
        ``device``, ``class_words``."""
        raise NotImplementedError

    def share(self, images: torch.Tensor, classes: torch.Tensor) -> Optional[float]:
        """The share of ``images`` it assigns to ``classes`` (one class, or one per image); None where the question
        is not one it answers."""
        raise NotImplementedError


class ClassJudge(Judge):
    """A judge that answers the class: logits over K classes."""

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """(B, K) logits; gradients reach ``images`` when the judge is ``differentiable``."""
        raise NotImplementedError

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(B, F) the features an attack matches examples in (differentiable judges)."""
        raise NotImplementedError

    @torch.no_grad()
    def verdict_logits(self, images: torch.Tensor) -> torch.Tensor:
        """(B, K) logits of images without NaN/inf pixels (a NaN image would be judged as some class), detached."""
        require_finite(images, self.label)
        return self.logits(images.detach())

    def classes(self, images: torch.Tensor) -> torch.Tensor:
        return self.verdict_logits(images).argmax(dim=1)

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        return self.verdict_logits(images).softmax(dim=1)

    def share(self, images: torch.Tensor, classes: torch.Tensor) -> float:
        pred = self.classes(images)
        return (pred == classes.to(pred.device)).float().mean().item()


class ConceptJudge(Judge):
    """A judge that answers whether the forgotten concept is present. Asked about classes, it answers only for
    ``forget_class`` (the concept's class in an attack): for any other class (retained accuracy, pinpoint) its share
    is None."""

    forget_class: Optional[int] = None

    @classmethod
    def add_arguments(cls, p: argparse.ArgumentParser) -> None:
        """Its ``sfd eval`` options (default: none)."""

    @classmethod
    def check_arguments(cls, args: argparse.Namespace) -> None:
        """Its ``sfd eval`` options checked, before any judge is built (default: nothing to check)."""

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> "ConceptJudge":
        """The judge of ``sfd eval --metrics <name>``, from its options."""
        raise NotImplementedError

    def counts(self, field: str = "images") -> Metric:
        """A fresh metric of its verdicts over batches, summed over DDP ranks; ``field`` names the images in errors."""
        raise NotImplementedError

    @staticmethod
    def versions() -> Dict[str, str]:
        """The package versions that make its verdicts, for table headers."""
        raise NotImplementedError

    def present(self, images: torch.Tensor) -> torch.Tensor:
        """(B,) bool: whether each image shows the concept."""
        raise NotImplementedError

    @torch.no_grad()
    def share(self, images: torch.Tensor, classes: torch.Tensor) -> Optional[float]:
        if self.forget_class is None or classes.dim() > 0 or int(classes) != self.forget_class:
            return None
        require_finite(images, self.label)
        return self.present(images.detach()).float().mean().item()


class Surrogate:
    """The gradient side of a differentiable class judge, the one an attack optimises against: log-probabilities,
    features and probabilities with gradients to the images."""

    def __init__(self, judge: ClassJudge):
        if not judge.differentiable:
            raise TypeError(f"{type(judge).__name__} gives no gradients: it cannot be a surrogate")
        self.judge = judge

    def log_prob(self, images: torch.Tensor, cls: int) -> torch.Tensor:
        """(B,) log p(cls | image)."""
        return self.judge.logits(images).log_softmax(dim=1)[:, cls]

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.judge.features(images)

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """(B, K) class probabilities."""
        return self.judge.logits(images).softmax(dim=1)


def rates(judges: Dict[str, Judge], images: torch.Tensor, classes: torch.Tensor) -> Dict[str, Optional[float]]:
    """Each judge's share of ``images`` it assigns to ``classes`` (one class, or one per image); None where a
    concept judge has no answer for them."""
    return {name: judge.share(images, classes) for name, judge in judges.items()}
