"""An attack run's results as ``attack.json``, a Markdown table (``attack.md``), a plot of success rate
against budget (``attack.png``) and flat numbers for W&B."""

import json
import os
from typing import Any, Dict, List, Tuple

from sfd_lightning.attack.registry import ATTACKS, budget_axes
from sfd_lightning.attack.rows import tuning
from sfd_lightning.io.figures import panels, rate_axes, save
from sfd_lightning.io.markdown_table import markdown_table

DIVERGED = (
    "diverged: the attack's search went non-finite (NaN or infinite) by that budget, so it was not scored; its "
    "learning rate is too large. Not a failed attack: nothing is known about the forgetting there."
)
LOSSES = {"denoising": "its denoising loss", "mmd": "MMD^2 of surrogate features"}


def budget_label(row: Dict[str, Any]) -> str:
    return ATTACKS[row["attack"]].label(row)


def percent(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def rate_cell(row: Dict[str, Any], judge: str) -> str:
    """A judge's success rate in the table; ``diverged`` where the search went non-finite before this budget."""
    return "diverged" if row.get("diverged") is not None else percent(row["success"][judge])


def grouped(result: Dict[str, Any]) -> List[Tuple[str, str, Dict[str, Dict[str, Any]]]]:
    """(attack, budget label, {target: row}) in run order."""
    groups: Dict[Tuple[str, str], Dict[str, Dict[str, Any]]] = {}
    for r in result["rows"]:
        groups.setdefault((r["attack"], budget_label(r)), {})[r["target"]] = r
    return [(attack, label, rows) for (attack, label), rows in groups.items()]


def markdown(result: Dict[str, Any]) -> str:
    """The success-rate table (every target and judge side by side) and the pinpoint table."""
    targets, judges = list(result["targets"]), result["judges"]
    head = (
        ["attack", "budget"]
        + [f"{t}: {j}" for t in targets for j in judges]
        + [f"{t}: retained acc. under attack ({judges[-1]})" for t in targets]
    )
    cells = [
        [attack, label]
        + [rate_cell(rows[t], j) if t in rows else "–" for t in targets for j in judges]
        + [percent((rows[t].get("retained") or {}).get(judges[-1])) if t in rows else "–" for t in targets]
        for attack, label, rows in grouped(result)
    ]
    described = ", ".join(f"{t} = {v['description']} ({v['nfe']} NFE)" for t, v in result["targets"].items())
    losses = {r["target"]: LOSSES[r["loss"]] for r in result["rows"] if "loss" in r}
    tuned = ("; fine-tuned by " + ", ".join(f"{t}: {loss}" for t, loss in losses.items())) if losses else ""
    text = [
        "Success rate: the share of attacked samples each judge assigns to the forgotten class "
        f"{result['forget_class']} (lower is better for the forgetting run). {described}{tuned}.",
        "",
        markdown_table(head, cells),
    ]
    notes = [line for a in ATTACKS.values() if a.notes is not None for line in a.notes(result)]
    broken = ["", DIVERGED] if any(r.get("diverged") is not None for r in result["rows"]) else []
    return "\n".join(text + broken + notes + pinpoint_markdown(result, judges)) + "\n"


def pinpoint_markdown(result: Dict[str, Any], judges: List[str]) -> List[str]:
    pin = result.get("pinpoint")
    if not pin or not pin["rows"]:
        return []
    has_fid = any("fid" in r for r in pin["rows"])
    targets = list(dict.fromkeys(r["target"] for r in pin["rows"]))
    head = (
        ["nearest class"]
        + [f"{t} accuracy ({judges[-1]})" for t in targets]
        + ([f"{t} FID" for t in targets] if has_fid else [])
    )
    cells = []
    for cls in pin["classes"]:
        rows = {r["target"]: r for r in pin["rows"] if r["class"] == cls}
        cells.append(
            [cls]
            + [percent(rows[t]["accuracy"][judges[-1]]) for t in targets]
            + ([f"{rows[t]['fid']:.4f}" for t in targets] if has_fid else [])
        )
    return [
        "",
        f"Nearest classes to the forgotten one (pinpoint-ness): {pin['classes']}",
        "",
        markdown_table(head, cells),
    ]


def plot(result: Dict[str, Any], path: str) -> bool:
    """Success rate against budget, one panel per budgeted attack; solid: the last judge, dashed: the first."""
    axis_of = budget_axes()
    attacks = [a for a in axis_of if any(r["attack"] == a for r in result["rows"])]
    if not attacks:
        return False
    fig, axes = panels(1, len(attacks), (5, 3.6))
    judges = result["judges"]
    for ax, attack in zip(axes[0], attacks):
        lines = dict.fromkeys((r["target"], tuning(r)) for r in result["rows"] if r["attack"] == attack)
        for target, variant in lines:
            rows = sorted(
                (
                    r
                    for r in result["rows"]
                    if r["attack"] == attack
                    and (r["target"], tuning(r)) == (target, variant)
                    and r.get("diverged") is None
                ),
                key=lambda r: r["budget"],
            )
            name = f"{target}, {variant}" if variant else target
            for judge, style in ((judges[-1], "-"), (judges[0], "--")):
                ax.plot(
                    [r["budget"] for r in rows],
                    [r["success"][judge] for r in rows],
                    style,
                    marker="o",
                    label=f"{name} ({judge})",
                )
        rate_axes(ax, axis_of[attack], "attack success rate")
    save(fig, path)
    return True


def flat(result: Dict[str, Any]) -> Dict[str, float]:
    """``attack/<attack>/<budget>/<target>/<judge>`` (and ``.../retained/<judge>``) numbers, for W&B; fine-tuning
    attacks as ``attack/relearn/<full|lora_rR>/lr<LR>/<steps>/...``."""
    out: Dict[str, float] = {}
    for r in result["rows"]:
        budget = "all" if r["budget"] == -1 else f"{r['budget']:g}"  # -1: every budget pooled (paraphrases)
        variant = f"/{r['weights'].replace(' ', '_')}/lr{r['lr']:g}" if "lr" in r else ""
        base = f"attack/{r['attack']}{variant}/{budget}/{r['target']}"
        out.update({f"{base}/{j}": v for j, v in r["success"].items() if v is not None})
        out.update({f"{base}/retained/{j}": v for j, v in (r.get("retained") or {}).items() if v is not None})
    for r in (result.get("pinpoint") or {}).get("rows", []):
        base = f"attack/pinpoint/{r['class']}/{r['target']}"
        out.update({f"{base}/accuracy/{j}": v for j, v in r["accuracy"].items() if v is not None})
        if "fid" in r:
            out[f"{base}/fid"] = r["fid"]
    return out


def write(result: Dict[str, Any], out: str) -> Dict[str, str]:
    """``attack.json``, ``attack.md`` and ``attack.png`` into the folder ``out``; returns their paths."""
    os.makedirs(out, exist_ok=True)
    paths = {kind: os.path.join(out, f"attack.{kind}") for kind in ("json", "md", "png")}
    with open(paths["json"], "w") as f:
        json.dump(result, f, indent=1)
    with open(paths["md"], "w") as f:
        f.write(markdown(result))
    if not plot(result, paths["png"]):
        del paths["png"]
    return paths
