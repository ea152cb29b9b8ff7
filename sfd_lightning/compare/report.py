"""The comparison as ``compare.md`` (a table), ``compare.csv`` and ``compare.png``. A row whose ``status`` is not
``ok`` (a method that failed, was interrupted or never started) keeps its place with its status in a column of
its own, and the figure leaves it out."""

import csv
import os
import re
from typing import Any, Dict, List, Tuple

from sfd_lightning.io.figures import panels as figure_panels
from sfd_lightning.io.figures import rate_axes, save
from sfd_lightning.io.markdown_table import markdown_table

COLUMNS = [
    ("method", "method", "{}"),
    ("data", "training data", "{}"),
    ("forget/accuracy", "forget acc.", "{:.1%}"),
    ("forget/override_rate", "override rate", "{:.1%}"),
    ("retained/accuracy", "retained acc.", "{:.1%}"),
    ("fid", "FID (retained)", "{:.3f}"),
    ("fid_ratio", "FID / teacher", "{:.2f}"),
    ("nfe", "NFE", "{}"),
    ("images_per_s", "images/s", "{:,.0f}"),
    ("train_seconds", "train s", "{:,.0f}"),
]


PER_CLASS = re.compile(r"^forget/accuracy_(.+)$")  # a comparison forgetting several classes: each one, and the mean


def columns(rows: List[Dict[str, Any]]) -> List[Tuple[str, str, str]]:
    """The table's columns: :data:`COLUMNS`, with each forgotten class's forget accuracy and their mean after the
    forget accuracy (then the worst of them) where rows have them."""
    keys = list(dict.fromkeys(k for r in rows for k in r if PER_CLASS.match(k) and k != "forget/accuracy_mean"))
    if not keys:
        return COLUMNS
    keys.append("forget/accuracy_mean")
    per_class = [(k, f"forget acc. ({PER_CLASS.match(k).group(1)})", "{:.1%}") for k in keys]
    worst = ("forget/accuracy", "forget acc. (worst)", "{:.1%}")
    return COLUMNS[:2] + [worst] + per_class + COLUMNS[3:]


def cell(row: Dict[str, Any], key: str, fmt: str) -> str:
    value = row.get(key)
    if value is None:
        return "–"
    text = fmt.format(value)
    return f"{text} ± {fmt.format(row[key + '_spread'])}" if f"{key}_spread" in row else text


GROUPS = {"benchmark": "{}", "attacks": "attack: {} (judge)"}  # a row's dict of extra columns -> their heading


def extra_columns(rows: List[Dict[str, Any]]) -> List[Tuple[str, str]]:
    """(group, key) of every benchmark number and attack any row has, in order."""
    return list(dict.fromkeys((g, k) for g in GROUPS for r in rows for k in r.get(g, {})))


def extra_format(group: str, key: str) -> str:
    return "{:.2f}" if group == "benchmark" and ("FID" in key or "CLIP" in key) else "{:.1%}"


def finished(row: Dict[str, Any]) -> bool:
    return row.get("status", "ok") == "ok"


def markdown(rows: List[Dict[str, Any]], headline: str = "") -> str:
    extra, shown = extra_columns(rows), columns(rows)
    status = not all(finished(r) for r in rows)
    head = [label for _, label, _ in shown] + [GROUPS[g].format(k) for g, k in extra] + (["status"] if status else [])
    cells = [
        [cell(r, key, fmt) for key, _, fmt in shown]
        + [cell(r.get(g, {}), k, extra_format(g, k)) for g, k in extra]
        + ([r.get("status", "ok")] if status else [])
        for r in rows
    ]
    lines = ([headline, ""] if headline else []) + [markdown_table(head, cells)]
    notes = [f"- {r['method']}: {r['note']}" for r in rows if r.get("note")]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def write_csv(rows: List[Dict[str, Any]], path: str) -> None:
    extra, shown = extra_columns(rows), columns(rows)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [key for key, _, _ in shown] + ["fid_spread"] + [f"{g.rstrip('s')} {k}" for g, k in extra] + ["status"]
        )
        for r in rows:
            writer.writerow(
                [r.get(key) for key, _, _ in shown]
                + [r.get("fid_spread")]
                + [r.get(g, {}).get(k) for g, k in extra]
                + [r.get("status", "ok")]
            )


def plot(rows: List[Dict[str, Any]], path: str) -> None:
    """Forget accuracy, FID ratio to the teacher (where evaluated), benchmark numbers and attack success, one bar
    per method."""
    panels = [
        (None, key, title)
        for key, title in (("forget/accuracy", "forget-class accuracy"), ("fid_ratio", "FID / teacher (retained)"))
        if any(key in r for r in rows)
    ]
    panels += [(g, k, f"attack success: {k}" if g == "attacks" else k) for g, k in extra_columns(rows)]
    fig, axes = figure_panels(1, max(len(panels), 1), (3.6, 3.4))
    names = [r["method"] for r in rows]
    for ax, (group, key, title) in zip(axes[0], panels):
        values = [(r.get(group, {}) if group else r).get(key) for r in rows]
        ax.bar(range(len(rows)), [v if v is not None else 0 for v in values], color="tab:blue")
        ax.set_xticks(range(len(rows)), names, rotation=35, ha="right", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    save(fig, path)


FINE_TUNING = re.compile(r"^(relearn|benign)( LoRA)? (\d+) steps$")
CURVES = {
    "relearn": ("-", ""),
    "benign": ("--", " (benign)"),
    "relearn LoRA": (":", " (LoRA)"),
    "benign LoRA": ("-.", " (LoRA, benign)"),
}  # line style and legend suffix of each kind of fine-tuning


def relearning_curves(rows: List[Dict[str, Any]]) -> Dict[str, Dict[str, List[Tuple[int, float]]]]:
    """method -> ``relearn``/``benign`` (``... LoRA``) -> [(steps, judge's forget rate)], from the
    ``<kind>[ LoRA] S steps`` attack keys."""
    curves: Dict[str, Dict[str, List[Tuple[int, float]]]] = {}
    for r in rows:
        for key, value in r.get("attacks", {}).items():
            match = FINE_TUNING.match(key)
            if match and value is not None:
                kind = match.group(1) + (match.group(2) or "")
                curves.setdefault(r["method"], {}).setdefault(kind, []).append((int(match.group(3)), value))
    return curves


def plot_relearning(rows: List[Dict[str, Any]], path: str) -> bool:
    """The judge's forget rate against fine-tuning steps, per method: on the concept's examples (solid; LoRA dotted)
    and on retained examples only (dashed; LoRA dash-dotted). False when no row has relearning results."""
    curves = relearning_curves(rows)
    if not curves:
        return False
    fig, axes = figure_panels(1, 1, (6, 4))
    ax = axes[0][0]
    for k, (method, kinds) in enumerate(curves.items()):
        for kind, (style, suffix) in CURVES.items():
            points = sorted(kinds.get(kind, []))
            if points:
                ax.plot(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    style,
                    marker="o",
                    color=f"C{k}",
                    label=method + suffix,
                )
    ax.set_xscale("symlog", linthresh=50)
    rate_axes(ax, "fine-tuning steps (K examples)", "forget rate (independent judge)", legend_size=7)
    save(fig, path)
    return True


def write(rows: List[Dict[str, Any]], out: str, headline: str = "") -> Dict[str, str]:
    """compare.md (``headline`` above the table), compare.csv and the figures of the finished rows."""
    os.makedirs(out, exist_ok=True)
    paths = {kind: os.path.join(out, f"compare.{kind}") for kind in ("md", "csv", "png")}
    with open(paths["md"], "w") as f:
        f.write(markdown(rows, headline))
    write_csv(rows, paths["csv"])
    done = [r for r in rows if finished(r)]
    plot(done, paths["png"])
    relearning = os.path.join(out, "compare_relearning.png")
    if plot_relearning(done, relearning):
        paths["relearning"] = relearning
    return paths
