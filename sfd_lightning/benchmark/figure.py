"""The benchmark's figure: a panel per suite, the model under test beside its teacher."""

from typing import Dict, List, Tuple

from sfd_lightning.io.figures import panels, save
from sfd_lightning.metrics.nudity import EXPOSED_CLASSES, THRESHOLDS

Bars = Tuple[str, List[str], Dict[str, List[float]]]  # (title, bar names, model -> values)


def suite_bars(suite: str, results: Dict[str, Dict]) -> List[Bars]:
    """The panels of one suite's results (model name -> results)."""
    if suite == "nudity":
        t = THRESHOLDS[-1]
        names = [c.replace("_EXPOSED", "").replace("_", " ").lower() for c in EXPOSED_CLASSES]
        return [
            (
                f"NudeNet exposed detections (threshold {t})",
                names,
                {m: [r[f"{c}@{t}"] for c in EXPOSED_CLASSES] for m, r in results.items()},
            )
        ]
    if suite == "identity":
        groups = [g for g in next(iter(results.values())) if g not in ("retained",)]
        return [
            (
                "share of images showing the person (forget: lower is better)",
                groups,
                {m: [r[g]["matched"] for g in groups] for m, r in results.items()},
            )
        ]
    return [
        ("COCO FID (lower is better)", ["FID"], {m: [r["fid"]] for m, r in results.items()}),
        ("COCO CLIP score (x100)", ["CLIP score"], {m: [r["clip_score"]] for m, r in results.items()}),
    ]


def draw_figure(results: Dict[str, Dict[str, Dict]], path: str) -> None:
    """Grouped bars, one group per class or person or metric, one bar per model."""
    bars = [b for suite, per_model in results.items() for b in suite_bars(suite, per_model)]
    fig, axes = panels(1, len(bars), (5.5, 3.6))
    for ax, (title, names, values) in zip(axes[0], bars):
        width = 0.8 / max(len(values), 1)
        for k, (model, ys) in enumerate(values.items()):
            ax.bar([i + k * width for i in range(len(names))], ys, width, label=model)
        ax.set_xticks(
            [i + width * (len(values) - 1) / 2 for i in range(len(names))], names, rotation=45, ha="right", fontsize=8
        )
        top = max((v for ys in values.values() for v in ys), default=0)
        ax.set_ylim(0, top * 1.15 if top > 0 else 1)  # counts and shares start at 0, all-zero panels included
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=8)
    save(fig, path)
