"""A sweep's constraints (``--constraint "final/forget/accuracy<=0.05"``): the best run is chosen only among the
runs whose metrics satisfy every one, as unlearning papers tune a baseline for the best quality that still forgets."""

import math
import operator
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence

from sfd_lightning.errors import ConfigError
from sfd_lightning.sweep.local import metric_value

OPERATORS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
PATTERN = re.compile(r"^\s*([\w./@-]+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str
    bound: float

    def holds(self, row: Dict[str, Any]) -> bool:
        """The run's metric satisfies the bound (a run without the metric does not). The metric is compared at 6
        significant digits: a float32 10/200 (0.0500000007) meets ``<= 0.05``."""
        value = metric_value(row, self.metric)
        return value is not None and OPERATORS[self.op](float(f"{value:.6g}"), self.bound)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"


def parse_constraint(text: str, field: str = "--constraint") -> Constraint:
    """``METRIC<=VALUE`` (or ``>=``, ``<``, ``>``): a report metric, with or without W&B's ``final/`` prefix; ``field``
    is where the user wrote it (the option, or a spec's key)."""
    match = PATTERN.match(text)
    if not match:
        raise ConfigError(
            field, f"must read METRIC<=VALUE (or >=, <, >), e.g. final/forget/accuracy<=0.05; got {text!r}"
        )
    metric, op, bound = match.groups()
    try:
        return Constraint(metric, op, float(bound))
    except ValueError:
        raise ConfigError(field, f"the bound must be a number, got {bound!r} in {text!r}") from None


def meets(row: Dict[str, Any], constraints: Sequence[Constraint]) -> bool:
    return row.get("status") == "ok" and all(c.holds(row) for c in constraints)


def best_run(
    rows: Sequence[Dict[str, Any]], objective: Optional[str], goal: str, constraints: Sequence[Constraint] = ()
) -> Optional[Dict[str, Any]]:
    """The finished run with the best objective among those meeting every constraint; None when none does. A nan
    or infinite objective (a diverged run) is no candidate: it would win every comparison or none."""
    scored = [(metric_value(r, objective), r) for r in rows if meets(r, constraints)]
    scored = [(v, r) for v, r in scored if v is not None and math.isfinite(v)]
    if not scored:
        return None
    return (min if goal == "minimize" else max)(scored, key=lambda vr: vr[0])[1]
