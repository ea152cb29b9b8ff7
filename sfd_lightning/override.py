"""Override policies: which label the teacher is conditioned on when the generator is asked for
a forgotten label (SFD, Chen et al., ICLR 2025, sec. 3.2).

Each policy maps the fake score's detached x0_hat for forget-label samples to override labels. With several
forgotten classes, :class:`ClassOverrides` gives each its own: a fixed class, or the policy's pick, which never
falls on any forgotten class.
"""

from typing import Literal, Optional, Sequence, Tuple

import torch
from torch import nn

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.asset import load_exported
from sfd_lightning.io.source import Source


class OverridePolicy(nn.Module):
    """Base class: ``forward(fake_x0, forgotten, num_classes) -> labels (B,)``, none of them in ``forgotten`` (every
    class the run forgets; a bare int is one class)."""

    label: Optional[int] = None  # the one class a fixed policy shows; None: the policy picks per sample

    def validate(self, forgotten: Sequence[int], num_classes: int) -> None:
        """Raise a ConfigError if this policy cannot work with the forgotten classes."""

    def forward(self, fake_x0: torch.Tensor, forgotten: Sequence[int], num_classes: int) -> torch.Tensor:
        raise NotImplementedError


def as_classes(forgotten) -> Tuple[int, ...]:
    """The forgotten classes as a tuple (a bare int, as policies were called before lists, is one class)."""
    return (int(forgotten),) if isinstance(forgotten, int) else tuple(int(c) for c in forgotten)


class FixedOverride(OverridePolicy):
    """Always the same safe class (the reference default: forget 0 -> override 1)."""

    def __init__(self, label: int = 1):
        """
        Args:
            label: the class the teacher is asked for in place of the forget class.
        """
        super().__init__()
        self.label = label

    def validate(self, forgotten: Sequence[int], num_classes: int) -> None:
        if not 0 <= self.label < num_classes:
            raise ConfigError("model.override_label", f"must be in [0, {num_classes - 1}], got {self.label}")
        if self.label in as_classes(forgotten):
            raise ConfigError(
                "model.override_label",
                f"must differ from model.forget_label ({', '.join(map(str, as_classes(forgotten)))})",
            )

    def forward(self, fake_x0: torch.Tensor, forgotten: Sequence[int], num_classes: int) -> torch.Tensor:
        return torch.full((fake_x0.shape[0],), self.label, device=fake_x0.device, dtype=torch.long)


class RandomOverride(OverridePolicy):
    """A uniformly random class other than the forgotten ones, drawn per sample."""

    def validate(self, forgotten: Sequence[int], num_classes: int) -> None:
        if len(set(as_classes(forgotten))) >= num_classes:
            raise ConfigError("model.override", "a random override needs a class that is not forgotten")

    def forward(self, fake_x0: torch.Tensor, forgotten: Sequence[int], num_classes: int) -> torch.Tensor:
        skipped = sorted(set(as_classes(forgotten)))
        labels = torch.randint(0, num_classes - len(skipped), (fake_x0.shape[0],), device=fake_x0.device)
        for c in skipped:  # ascending: each skip over a forgotten class shifts the later ones past it
            labels = labels + (labels >= c).long()
        return labels


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

    def validate(self, forgotten: Sequence[int], num_classes: int) -> None:
        if self.classifier.num_classes != num_classes:
            raise ConfigError(
                "model.override.init_args.classifier_ckpt",
                f"classifier has {self.classifier.num_classes} classes, model.num_classes is {num_classes}",
            )

    @torch.no_grad()
    def forward(self, fake_x0: torch.Tensor, forgotten: Sequence[int], num_classes: int) -> torch.Tensor:
        logits = self.classifier(fake_x0.clamp(-1, 1))  # (B, K)
        logits[:, list(as_classes(forgotten))] = -torch.inf
        if self.mode == "argmax":
            return logits.argmax(dim=1)
        return torch.distributions.Categorical(logits=logits).sample()


class ClassOverrides(nn.Module):
    """Each forgotten class's override: its fixed class (``model.override_label``, one per class), or the policy's
    pick (``model.override``) for the classes whose fixed class is null. ``forward(fake_x0, rows)`` gives the
    teacher's labels for forget rows whose forgotten classes are ``rows`` (B,); a policy is only called (and only
    draws) when some class uses it, so a single fixed or policy override gives what it gave alone."""

    def __init__(self, fixed: Sequence[Optional[int]], forgotten: Sequence[int], policy: Optional[OverridePolicy]):
        super().__init__()
        if policy is None and any(label is None for label in fixed):
            raise ConfigError("model.override_label", "give an override label or an override policy (model.override)")
        self.forgotten, self.fixed, self.policy = tuple(forgotten), tuple(fixed), policy

    @classmethod
    def build(cls, classes, override: Optional[OverridePolicy]) -> "ClassOverrides":
        """From the forgotten classes (``ForgetClass``: label, fixed override or None) and the policy."""
        fixed = [c.override for c in classes]
        if override is not None and all(label is not None for label in fixed):
            raise ConfigError("model.override_label", "set it to null when model.override chooses another policy")
        return cls(fixed, [c.label for c in classes], override)

    @property
    def label(self) -> Optional[int]:
        """The one class shown for every forgotten class, if there is one (what reports call the override)."""
        return self.fixed[0] if len(set(self.fixed)) == 1 else None

    def validate(self, forgotten: Sequence[int], num_classes: int) -> None:
        for label in self.fixed:
            if label is not None:
                FixedOverride(label).validate(self.forgotten, num_classes)
        if self.policy is not None:
            self.policy.validate(self.forgotten, num_classes)

    def forward(self, fake_x0: torch.Tensor, rows: torch.Tensor, num_classes: int) -> torch.Tensor:
        if self.policy is not None and any(label is None for label in self.fixed):
            labels = self.policy(fake_x0, self.forgotten, num_classes)
        else:
            labels = torch.zeros(fake_x0.shape[0], device=fake_x0.device, dtype=torch.long)
        for forgotten, label in zip(self.forgotten, self.fixed):
            if label is not None:
                labels = torch.where(rows.to(labels.device) == forgotten, label, labels)
        return labels
