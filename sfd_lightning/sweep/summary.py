"""A sweep's summary: a table (CSV and Markdown) and each metric plotted against each swept value."""

import csv
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.figures import panels, save
from sfd_lightning.io.markdown_table import markdown_table
from sfd_lightning.metrics.table import ROWS  # the report's headline metrics
from sfd_lightning.sweep.local import metric_value


def metric_columns(rows: List[Dict[str, Any]], objective: Optional[str]) -> List[str]:
    """The spec's metric first (named as in the spec), then every report metric some run has (CLIP score too)."""
    columns = [objective] if objective else []
    columns += [
        key
        for key, _, _ in ROWS
        if any(key in r for r in rows) and key not in columns and (objective or "").replace("final/", "", 1) != key
    ]
    return columns


def write_tables(
    rows: List[Dict[str, Any]], params: Sequence[str], folder: Path, objective: Optional[str] = None, headline: str = ""
) -> List[str]:
    """summary.csv and summary.md: one row per run; columns run, swept values, status, seconds, the spec's metric,
    the report's metrics (``headline``, e.g. what a signal stopped, above the Markdown table). Returns the metric
    columns."""
    metrics = metric_columns(rows, objective)
    if objective:
        values = [metric_value(r, objective) for r in rows]
        rows = [r if v is None else dict(r, **{objective: v}) for r, v in zip(rows, values)]
    columns = ["run", *params, "status", "seconds", *metrics]
    with open(folder / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    lines = [headline, ""] if headline else []
    lines.append(markdown_table(columns, [[r.get(c, "") for c in columns] for r in rows], floats=".4g"))
    (folder / "summary.md").write_text("\n".join(lines) + "\n")
    return metrics


def _parsed(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_rows(folder: Path) -> List[Dict[str, Any]]:
    """The rows of a sweep folder's ``summary.csv``, numbers as numbers (a previous ``meets`` column dropped)."""
    path = folder / "summary.csv"
    if not path.is_file():
        raise ConfigError("--summarize", f"{folder} has no summary.csv (a finished local sweep's folder)")
    with open(path, newline="") as f:
        return [{k: _parsed(v) for k, v in row.items() if k != "meets" and v != ""} for row in csv.DictReader(f)]


def plot_metrics(rows: List[Dict[str, Any]], params: Sequence[str], metrics: Sequence[str], path: Path) -> bool:
    """A grid of panels, metric (row) against swept value (column); each run one point, runs sharing a value joined
    by their mean."""
    done = [r for r in rows if r.get("status") == "ok"]
    if not done or not metrics:
        return False
    fig, axes = panels(len(metrics), len(params), (3.6, 2.8))
    for i, metric in enumerate(metrics):
        for j, param in enumerate(params):
            ax = axes[i][j]
            points = [(r[param], r[metric]) for r in done if metric in r]
            numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x, _ in points)
            labels = sorted({x for x, _ in points}, key=lambda v: v if numeric else str(v))
            pos = {v: (v if numeric else k) for k, v in enumerate(labels)}
            ax.scatter([pos[x] for x, _ in points], [y for _, y in points], alpha=0.6)
            means = [sum(y for x, y in points if x == v) / sum(1 for x, _ in points if x == v) for v in labels]
            ax.plot([pos[v] for v in labels], means, color="C1")
            if not numeric:
                ax.set_xticks(range(len(labels)), [str(v).rsplit(".", 1)[-1] for v in labels], fontsize=7)
            ax.set_xlabel(param.split(".")[-1], fontsize=8)
            ax.set_ylabel(metric, fontsize=8)
            ax.grid(alpha=0.3)
    save(fig, path, dpi=100)
    return True
