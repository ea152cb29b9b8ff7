"""What every attack's rows share: a row, the rows of budgets a diverged search left unscored, and progress names.

A row is ``{"attack", "budget", "target", "success": {judge: rate}, "retained": {judge: accuracy} | None, "n"}``:
the share of attacked samples each judge calls the forgotten class (attack.harness).
"""

import sys
from typing import Any, Dict, List, Optional, Sequence

from sfd_lightning.attack.context import AttackContext
from sfd_lightning.pipelines.base import Pipeline


def row(
    attack: str,
    budget: float,
    target: Pipeline,
    success: Dict[str, float],
    retained: Optional[Dict[str, float]],
    n: int,
) -> Dict[str, Any]:
    return {"attack": attack, "budget": budget, "target": target.name, "success": success, "retained": retained, "n": n}


def diverged_rows(
    attack: str,
    target: Pipeline,
    ctx: AttackContext,
    milestones: Sequence[int],
    step: Optional[int],
    option: str,
    n: int,
    **extra: Any,
) -> List[Dict[str, Any]]:
    """Rows marked diverged, with no rates, for the budgets of ``milestones`` from ``step`` on (none when ``step`` is
    None: the search finished), and one line on stderr naming the option to lower."""
    if step is None:
        return []
    print(
        f"attack {attack} on the {target.description}: the search went non-finite (NaN or infinite) at step {step}; "
        f"its budgets from {step} steps on are marked diverged, not scored (lower {option})",
        file=sys.stderr,
        flush=True,
    )
    return [
        dict(row(attack, budget, target, dict.fromkeys(ctx.judges), None, n), diverged=step, **extra)
        for budget in sorted(milestones)
        if budget >= step
    ]


def progress(attack: str, target: Pipeline, detail: str = "") -> str:
    """The name of an attack's progress lines."""
    return f"attack {attack} on the {target.description}{detail}"


def tuning(row: Dict[str, Any]) -> str:
    """A fine-tuning row's weights and learning rate (``full, lr 0.0001``); empty for other attacks."""
    return f"{row['weights']}, lr {row['lr']:g}" if "lr" in row else ""
