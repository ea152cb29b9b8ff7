"""A comparison that forgets several classes, scored as one: ``sfd eval --forget-label 0,3,5 --override-label
1,8,6`` gives each class's forget accuracy (``forget/accuracy_<c>``), the override rate and the accuracy over the
retained classes, and their FID. Across the noise seeds each class's accuracy is averaged first; ``forget/accuracy``
is then the worst (highest) of the averages, as a run that forgets several reports it, and ``forget/accuracy_mean``
their mean, so the table's worst is one of the per-class columns beside it. Attacks run per class."""

import os
import statistics
from typing import Any, Dict, List


def combine_seeds(per_seed: List[Dict[str, Any]], labels: List[int]) -> Dict[str, float]:
    """The seeds' mean of each class's forget accuracy (a one-class list: ``forget/accuracy``), then the worst and
    the mean of them; the seeds' mean override rate (where judged) and retained accuracy."""

    def accuracy(r: Dict[str, Any], c: int) -> float:
        return r[f"forget/accuracy_{c}"] if len(labels) > 1 else r["forget/accuracy"]

    per_class = {f"forget/accuracy_{c}": statistics.fmean(accuracy(r, c) for r in per_seed) for c in labels}
    out = {"forget/accuracy": max(per_class.values()), **per_class}
    out["forget/accuracy_mean"] = statistics.fmean(per_class.values())
    for key in ("forget/override_rate", "retained/accuracy"):
        if all(key in r for r in per_seed):
            out[key] = statistics.fmean(r[key] for r in per_seed)
    return out


def worst_attacks(per_target: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Each attack column's worst case over the forgotten classes or concepts (the highest success; None only where
    no target has a value)."""
    out: Dict[str, Any] = {}
    for columns in per_target:
        for key, value in columns.items():
            known = [v for v in (out.get(key), value) if v is not None]
            out[key] = max(known) if known else None
    return out


def attack_folder(folder: str, target: Any) -> str:
    """Where the attacks on one forgotten class or concept are written."""
    return os.path.join(folder, f"attack_{str(target).replace(' ', '_')}")
