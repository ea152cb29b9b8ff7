"""One attack run: every attack and budget on each target, scored by every judge.

A row is ``{"attack", "budget", "target", "success": {judge: rate}, "retained": {judge: accuracy} | None,
"n"}``: the share of attacked samples each judge calls the forgotten class, and for the noise attack
the retained conditions' accuracy under the same attack (PGD towards the forgotten class at the same
budget: if retained samples flip too, the budget is large enough to draw anything). A search that went non-finite
gives its later budgets rows marked ``"diverged": step`` with no rates (attack.search_steps). Each attack's rows are
its own module's (``attack.registry.ATTACKS``).
"""

import time
from dataclasses import asdict
from typing import Any, Dict, List, Sequence

from sfd_lightning.attack.context import AttackContext
from sfd_lightning.attack.pinpoint import pinpoint
from sfd_lightning.attack.registry import ATTACKS, check_targets
from sfd_lightning.pipelines.base import Pipeline


def run_attacks(targets: Sequence[Pipeline], ctx: AttackContext, log=lambda m: print(m, flush=True)) -> Dict[str, Any]:
    """Every configured attack on every target, the pinpoint collateral, and the settings: ``sfd attack``'s JSON."""
    ctx.settings.check()
    check_targets(targets, ctx.settings, ctx.spec)
    rows: List[Dict[str, Any]] = []
    start = time.perf_counter()
    for attack in ctx.settings.attacks:
        for target in targets:
            t0 = time.perf_counter()
            rows += ATTACKS[attack].rows(target, ctx)
            log(f"attack {attack} on the {target.description}: {time.perf_counter() - t0:.0f} s")
    result = {
        "forget_class": ctx.spec.forget_class,
        "forget": ctx.spec.forget,
        "judges": list(ctx.judges),
        "targets": {t.name: {"description": t.description, "nfe": t.nfe} for t in targets},
        "settings": asdict(ctx.settings),
        "rows": rows,
    }
    if ctx.settings.pinpoint_k:
        result["pinpoint"] = pinpoint(targets, ctx)
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result
