"""A PNG of the evaluation metrics against the SFD iteration (forget accuracy, retained accuracy, FID)."""

from typing import Dict, List, Sequence, Tuple

from sfd_lightning.io.figures import panels as figure_panels
from sfd_lightning.io.figures import save

History = List[Tuple[int, Dict[str, float]]]
PANELS: Sequence[Tuple[str, Sequence[str]]] = (
    ("forgetting", ("forget/accuracy", "forget/override_rate")),
    ("retained classes", ("retained/accuracy",)),
    ("FID (retained classes)", ("fid/generator", "fid/teacher")),
)


def plot_metric_curves(history: History, path: str) -> bool:
    """Draw one panel per metric family that the history holds; False when there is nothing to draw."""
    panels = [(title, [k for k in keys if any(k in r for _, r in history)]) for title, keys in PANELS]
    panels = [(title, keys) for title, keys in panels if keys]
    if not panels:
        return False
    fig, axes = figure_panels(1, len(panels), (4.5, 3.4))
    for ax, (title, keys) in zip(axes[0], panels):
        for key in keys:
            points = sorted((i, r[key]) for i, r in history if key in r)
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="o", label=key)
        ax.set_title(title)
        ax.set_xlabel("SFD iteration")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save(fig, path)
    return True
