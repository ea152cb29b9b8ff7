"""Forgetting metrics as a torchmetrics Metric, so they reduce correctly across DDP ranks."""

from typing import Dict, Optional

import torch
from torchmetrics import Metric

from sfd_lightning.data.finite import check_count, finite_rows


class ForgetMetrics(Metric):
    """Classifier verdicts on samples generated per label.

    forget/accuracy: fraction of forget-label samples classified as the forget class (lower is
    better; forget/ua = 1 - it); forget/prob and forget/entropy: mean forget-class probability and
    predictive entropy on them; forget/override_rate: fraction classified as the override label;
    retained/accuracy and retained/accuracy_<c>: accuracy on the retained labels.
    """

    full_state_update = False

    def __init__(self, num_classes: int, forget_label: int, override_label: Optional[int] = None):
        super().__init__()
        self.num_classes, self.forget_label, self.override_label = num_classes, forget_label, override_label
        for name in ("count", "correct"):
            self.add_state(name, torch.zeros(num_classes, dtype=torch.float64), dist_reduce_fx="sum")
        for name in ("forget_prob", "forget_entropy", "overridden", "nonfinite"):
            self.add_state(name, torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

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
        is_forget = labels == self.forget_label
        p = probs[is_forget]
        self.forget_prob += p[:, self.forget_label].sum()
        self.forget_entropy += -(p * p.clamp_min(1e-12).log()).sum()
        if self.override_label is not None:
            self.overridden += (pred[is_forget] == self.override_label).double().sum()

    def compute(self) -> Dict[str, float]:
        check_count(
            int(self.nonfinite), int(self.count.sum() + self.nonfinite), "forget/accuracy", "classifier outputs"
        )
        f = self.forget_label
        n_forget = self.count[f].clamp_min(1)
        retained = torch.ones(self.num_classes, dtype=torch.bool)
        retained[f] = False
        out = {
            "forget/accuracy": (self.correct[f] / n_forget).item(),
            "forget/prob": (self.forget_prob / n_forget).item(),
            "forget/entropy": (self.forget_entropy / n_forget).item(),
            "retained/accuracy": (self.correct[retained].sum() / self.count[retained].sum().clamp_min(1)).item(),
        }
        out["forget/ua"] = 1.0 - out["forget/accuracy"]
        if self.override_label is not None:
            out["forget/override_rate"] = (self.overridden / n_forget).item()
        for c in torch.nonzero(retained & (self.count > 0)).flatten().tolist():
            out[f"retained/accuracy_{c}"] = (self.correct[c] / self.count[c]).item()
        return out
