"""Override policies: which label the teacher is conditioned on when the generator is asked for
the forget label (SFD, Chen et al., ICLR 2025, sec. 3.2).

Each policy maps the fake score's detached x0_hat for forget-label samples to override labels.
"""

from typing import Literal, Optional

import torch
from torch import nn

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.asset import load_exported
from sfd_lightning.io.source import Source


class OverridePolicy(nn.Module):
    """Base class: ``forward(fake_x0, forget_label, num_classes) -> labels (B,)``."""

    label: Optional[int] = None  # the one class a fixed policy shows; None: the policy picks per sample

    def validate(self, forget_label: int, num_classes: int) -> None:
        """Raise a ConfigError if this policy cannot work with the forget label."""

    def forward(self, fake_x0: torch.Tensor, forget_label: int, num_classes: int) -> torch.Tensor:
        raise NotImplementedError


class FixedOverride(OverridePolicy):
    """Always the same safe class (the reference default: forget 0 -> override 1)."""

    def __init__(self, label: int = 1):
        """
        Args:
            label: the class the teacher is asked for in place of the forget class.
        """
        super().__init__()
        self.label = label

    def validate(self, forget_label: int, num_classes: int) -> None:
        if not 0 <= self.label < num_classes:
            raise ConfigError("model.override_label", f"must be in [0, {num_classes - 1}], got {self.label}")
        if self.label == forget_label:
            raise ConfigError("model.override_label", f"must differ from model.forget_label ({forget_label})")

    def forward(self, fake_x0: torch.Tensor, forget_label: int, num_classes: int) -> torch.Tensor:
        return torch.full((fake_x0.shape[0],), self.label, device=fake_x0.device, dtype=torch.long)


class RandomOverride(OverridePolicy):
    """A uniformly random class other than the forget class, drawn per sample."""

    def forward(self, fake_x0: torch.Tensor, forget_label: int, num_classes: int) -> torch.Tensor:
        labels = torch.randint(0, num_classes - 1, (fake_x0.shape[0],), device=fake_x0.device)
        return labels + (labels >= forget_label).long()  # skip over the forget class


class ClassifierOverride(OverridePolicy):
    """The classifier's label for the fake score's x0_hat, forget logit masked (argmax or sampled)."""

    def __init__(self, classifier_ckpt: str, mode: Literal["argmax", "sample"] = "argmax"):
        """
        Args:
            classifier_ckpt: path to an exported classifier asset (see ``make assets``).
            mode: ``argmax`` takes the most likely non-forget class, ``sample`` draws one from the softmax.
        """
        super().__init__()
        if mode not in ("argmax", "sample"):
            raise ConfigError("model.override.init_args.mode", f"must be 'argmax' or 'sample', got {mode!r}")
        self.mode = mode
        self.classifier = load_exported(
            Source(classifier_ckpt, "model.override.init_args.classifier_ckpt"), "classifier"
        )
        self.classifier.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> "ClassifierOverride":
        super().train(mode)
        self.classifier.eval()  # frozen judge: never in training mode
        return self

    def validate(self, forget_label: int, num_classes: int) -> None:
        if self.classifier.num_classes != num_classes:
            raise ConfigError(
                "model.override.init_args.classifier_ckpt",
                f"classifier has {self.classifier.num_classes} classes, model.num_classes is {num_classes}",
            )

    @torch.no_grad()
    def forward(self, fake_x0: torch.Tensor, forget_label: int, num_classes: int) -> torch.Tensor:
        logits = self.classifier(fake_x0.clamp(-1, 1))  # (B, K)
        logits[:, forget_label] = -torch.inf
        if self.mode == "argmax":
            return logits.argmax(dim=1)
        return torch.distributions.Categorical(logits=logits).sample()


def override_policy(override_label: Optional[int], override: Optional[OverridePolicy]) -> OverridePolicy:
    """``model.override_label`` as a fixed override, or the policy given instead (exactly one of the two)."""
    if override is not None and override_label is not None:
        raise ConfigError("model.override_label", "set it to null when model.override chooses another policy")
    if override is None and override_label is None:
        raise ConfigError("model.override_label", "give an override label or an override policy (model.override)")
    return override if override is not None else FixedOverride(override_label)
