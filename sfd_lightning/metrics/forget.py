"""Forgetting metrics as a torchmetrics Metric, so they reduce correctly across DDP ranks."""

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torchmetrics import Metric

from sfd_lightning.data.finite import check_count, finite_rows

Labels = Union[int, Sequence[int]]
Overrides = Union[int, None, Sequence[Optional[int]]]


def forget_and_override(forget_label: Labels, override_label: Overrides) -> Tuple[Tuple[int, ...], tuple]:
    """The forgotten classes and, for each, its override (None: not fixed); one override stands for every class."""
    labels = (int(forget_label),) if isinstance(forget_label, int) else tuple(int(c) for c in forget_label)
    if not labels or len(set(labels)) != len(labels):
        raise ValueError(f"forget_label must be one class or a list of distinct classes, got {forget_label!r}")
    if override_label is None or isinstance(override_label, int):
        return labels, (override_label,) * len(labels)
    overrides = tuple(override_label)
    if len(overrides) != len(labels):
        raise ValueError(f"{len(overrides)} override labels for {len(labels)} forgotten classes; give one per class")
    return labels, overrides


class ForgetMetrics(Metric):
    """Classifier verdicts on samples generated per label.

    forget/accuracy: fraction of a forgotten class's samples classified as that class (lower is better; forget/ua =
    1 - it); with several forgotten classes it is the worst (highest) class's, beside forget/accuracy_<c> per class
    and forget/accuracy_mean. forget/prob and forget/entropy: mean probability of the sample's forgotten class and
    mean predictive entropy, over every forget sample; forget/override_rate: fraction of forget samples classified as
    their class's override (over the classes whose override is fixed); retained/accuracy and retained/accuracy_<c>:
    accuracy on the classes not forgotten.
    """

    full_state_update = False

    def __init__(
        self,
        num_classes: int,
        forget_label: Labels,
        override_label: Overrides = None,
        names: Optional[Sequence[str]] = None,
    ):
        """
        Args:
            num_classes: the classifier's class count.
            forget_label: the forgotten class, or a list of them.
            override_label: the class shown instead of each forgotten one: one for all, a list of one per forgotten
                class (None entries: not fixed), or None.
            names: the key suffix of each forgotten class's forget/accuracy_<name> (default: its index).
        """
        super().__init__()
        self.num_classes = num_classes
        self.forget_labels, self.override_labels = forget_and_override(forget_label, override_label)
        self.names = [str(c) for c in self.forget_labels] if names is None else list(names)
        if len(self.names) != len(self.forget_labels):
            raise ValueError(f"{len(self.names)} names for {len(self.forget_labels)} forgotten classes")
        for name in ("count", "correct"):
            self.add_state(name, torch.zeros(num_classes, dtype=torch.float64), dist_reduce_fx="sum")
        for name in ("forget_prob", "forget_entropy", "overridden", "nonfinite"):
            self.add_state(name, torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def _override_of(self, device: torch.device) -> torch.Tensor:
        """(K,) each class's fixed override, -1 where none (a retained class, or a policy's choice)."""
        out = torch.full((self.num_classes,), -1, dtype=torch.long, device=device)
        for label, override in zip(self.forget_labels, self.override_labels):
            if override is not None:
                out[label] = override
        return out

    def update(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """Count the verdicts of ``logits`` (N, K) on samples of ``labels`` (N,). Rows with NaN/inf logits are
        counted apart (``argmax`` would turn them into a class) and make ``compute`` refuse, on every rank alike."""
        finite = finite_rows(logits)  # (N,)
        self.nonfinite += float((~finite).sum())
        logits, labels = logits[finite], labels[finite]
        probs = logits.double().softmax(dim=1)  # (N, K)
        pred = probs.argmax(dim=1)
        self.count += torch.bincount(labels, minlength=self.num_classes).double()
        self.correct += torch.bincount(labels[pred == labels], minlength=self.num_classes).double()
        is_forget = torch.isin(labels, torch.tensor(self.forget_labels, device=labels.device))
        p, own = probs[is_forget], labels[is_forget]
        self.forget_prob += p.gather(1, own[:, None]).sum()
        self.forget_entropy += -(p * p.clamp_min(1e-12).log()).sum()
        target = self._override_of(labels.device)[own]  # (N_forget,)
        self.overridden += ((pred[is_forget] == target) & (target >= 0)).double().sum()

    def compute(self) -> Dict[str, float]:
        check_count(
            int(self.nonfinite), int(self.count.sum() + self.nonfinite), "forget/accuracy", "classifier outputs"
        )
        forget = list(self.forget_labels)
        n_forget = self.count[forget].sum().clamp_min(1)
        rates = self.correct[forget] / self.count[forget].clamp_min(1)  # (F,)
        retained = torch.ones(self.num_classes, dtype=torch.bool)
        retained[forget] = False
        out = {
            "forget/accuracy": rates.max().item(),
            "forget/prob": (self.forget_prob / n_forget).item(),
            "forget/entropy": (self.forget_entropy / n_forget).item(),
            "retained/accuracy": (self.correct[retained].sum() / self.count[retained].sum().clamp_min(1)).item(),
        }
        out["forget/ua"] = 1.0 - out["forget/accuracy"]
        if len(forget) > 1:
            out.update(self._per_class(rates))
        fixed = [c for c, o in zip(forget, self.override_labels) if o is not None]
        if fixed:
            out["forget/override_rate"] = (self.overridden / self.count[fixed].sum().clamp_min(1)).item()
        for c in torch.nonzero(retained & (self.count > 0)).flatten().tolist():
            out[f"retained/accuracy_{c}"] = (self.correct[c] / self.count[c]).item()
        return out

    def _per_class(self, rates: torch.Tensor) -> Dict[str, float]:
        """forget/accuracy_<name> of each forgotten class that has samples, and their mean."""
        sampled: List[int] = [i for i, c in enumerate(self.forget_labels) if self.count[c] > 0]
        out = {f"forget/accuracy_{self.names[i]}": rates[i].item() for i in sampled}
        out["forget/accuracy_mean"] = rates[sampled].mean().item() if sampled else 0.0
        return out
