"""A comparison that forgets several classes, scored with the commands a user runs: ``sfd eval`` once for the FID of
the retained classes (``--classes``) and once per forgotten class (``--forget-label``, ``--override-label``), the
results joined into one record per noise seed: each class's forget accuracy (``forget/accuracy_<c>``) and override
rate, the accuracy over every retained class, and the FID. Across seeds each class's accuracy is averaged first;
``forget/accuracy`` is then the worst (highest) of them, as a run that forgets several reports it, and
``forget/accuracy_mean`` their mean."""

import json
import os
import statistics
from typing import Any, Dict, List

import numpy as np

from sfd_lightning.compare.forgotten import classes_of


def evaluate_classes(npz: str, spec: Any, out: str) -> None:
    """Score the samples ``npz`` (labelled by class) for every forgotten class; write the joined record to ``out``."""
    from sfd_lightning.evaluate.main import evaluate as evaluate_samples

    ev, classes = spec.evaluation, classes_of(spec)
    forgotten = {c.label for c in classes}
    retained = [c for c in range(spec.num_classes) if c not in forgotten]
    stem = out.removesuffix(".json")
    quality = evaluate_samples(
        npz,
        reference=ev["reference"],
        metrics="fid",
        classes=",".join(map(str, retained)),
        features=ev["features"],
        out=f"{stem}_fid.json",
        overwrite=True,
    )
    record: Dict[str, Any] = {"fid": quality["fid"]}
    per_class = [
        evaluate_samples(
            npz,
            metrics="forget",
            forget_label=c.label,
            override_label=c.override,
            classifier=ev["classifier"],
            out=f"{stem}_forget_{c.label}.json",
            overwrite=True,
        )
        for c in classes
    ]
    for c, result in zip(classes, per_class):
        record[f"forget/accuracy_{c.label}"] = result["forget/accuracy"]
        if "forget/override_rate" in result:
            record[f"forget/override_rate_{c.label}"] = result["forget/override_rate"]
    with np.load(npz) as data:
        counts = np.bincount(data["labels"], minlength=spec.num_classes)
    record["retained/accuracy"] = retained_accuracy(per_class[0], retained, counts)
    with open(out, "w") as f:
        json.dump(record, f, indent=1)


def retained_accuracy(result: Dict[str, Any], retained: List[int], counts: np.ndarray) -> float:
    """The accuracy over the samples of every retained class, from one forgotten class's ``sfd eval`` (its
    ``retained/accuracy_<c>`` per class, weighted by each class's samples)."""
    n = sum(int(counts[c]) for c in retained if f"retained/accuracy_{c}" in result)
    correct = sum(
        result[f"retained/accuracy_{c}"] * int(counts[c]) for c in retained if f"retained/accuracy_{c}" in result
    )
    return correct / max(n, 1)


def combine_seeds(per_seed: List[Dict[str, Any]], labels: List[int]) -> Dict[str, float]:
    """The seeds' mean of each class's forget accuracy and override rate, then the worst and the mean of the
    accuracies (``forget/accuracy``, ``forget/accuracy_mean``), the mean override rate over the classes that have one
    (``forget/override_rate``) and the mean retained accuracy."""
    mean = {
        k: statistics.fmean(r[k] for r in per_seed)
        for k in per_seed[0]
        if k.startswith("forget/") and all(k in r for r in per_seed)
    }
    accuracies = [mean[f"forget/accuracy_{c}"] for c in labels]
    out = {"forget/accuracy": max(accuracies), **{f"forget/accuracy_{c}": mean[f"forget/accuracy_{c}"] for c in labels}}
    out["forget/accuracy_mean"] = statistics.fmean(accuracies)
    rates = [mean[f"forget/override_rate_{c}"] for c in labels if f"forget/override_rate_{c}" in mean]
    if rates:
        out["forget/override_rate"] = statistics.fmean(rates)
    out["retained/accuracy"] = statistics.fmean(r["retained/accuracy"] for r in per_seed)
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
