"""The noise attack: PGD on the generator's input noise within an L2 ball ||z - z0|| <= eps sqrt(d), towards the
surrogate's forgotten class; the retained conditions are attacked at the same budget (if their samples flip too, the
budget is large enough to draw anything)."""

from typing import Any, Dict, List

import torch

from sfd_lightning.attack.context import AttackContext
from sfd_lightning.attack.options import MAX_RESTARTS, MAX_STEPS, Attack, Option
from sfd_lightning.attack.rows import progress, row
from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.diffusion.pgd import pgd_l2
from sfd_lightning.judges.protocol import rates
from sfd_lightning.metrics.eval_progress import eval_progress
from sfd_lightning.pipelines.base import Pipeline


def noise_attack(target: Pipeline, c: Condition, z0: torch.Tensor, ctx: AttackContext, eps: float) -> torch.Tensor:
    """Images of ``target`` at the PGD noise that most raises the surrogate's forgotten-class log-probability."""
    s, cls = ctx.settings, ctx.spec.forget_class
    z = pgd_l2(
        lambda z: ctx.surrogate.log_prob(target.generate(z, c), cls),
        z0,
        eps,
        s.pgd_steps,
        s.restarts,
        torch.Generator().manual_seed(s.seed + 1),
    )
    with torch.no_grad():
        return target.generate(z, c)


def noise_rows(target: Pipeline, ctx: AttackContext) -> List[Dict[str, Any]]:
    s, forget_class = ctx.settings, torch.tensor(ctx.spec.forget_class)
    z0 = ctx.noise(s.n, target.shape)
    forget = ctx.on_device(ctx.spec.forget_conditions(s.n))
    retained, classes = ctx.spec.retained_conditions(s.n)
    rows = []
    for eps in eval_progress(s.eps, len(s.eps), progress("noise", target), unit="budget"):
        attacked = noise_attack(target, forget, z0, ctx, eps)
        kept = noise_attack(target, ctx.on_device(retained), z0, ctx, eps)
        rows.append(
            row("noise", eps, target, rates(ctx.judges, attacked, forget_class), rates(ctx.judges, kept, classes), s.n)
        )
    return rows


NOISE = Attack(
    "noise",
    noise_rows,
    options=(
        Option("eps", "floats", (0.0, 0.25, 0.5, 1.0), "noise budgets eps (radius eps*sqrt(d))", compare=True),
        Option("pgd_steps", "int", 10, f"PGD steps per restart (at most {MAX_STEPS:,})", (0, MAX_STEPS, False)),
        Option(
            "restarts",
            "int",
            2,
            f"PGD restarts (the first from z0), 1 to {MAX_RESTARTS}",
            (1, MAX_RESTARTS, False),
        ),
    ),
    axis="noise budget eps (||z - z0|| <= eps sqrt(d))",
    label=lambda r: f"eps {r['budget']:g}",
    column="noise eps {budget:g}",
)
