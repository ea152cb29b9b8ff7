"""The table of experiments/many_concepts/run.py: one row per run (a joint run, or one step of a sequential chain),
each forgotten class's (or concept's) forget rate, the retained accuracy, the FID ratio, the wall time, and whether
the run meets the goal.

A run's result is a dict: ``experiment``, ``seed``, ``step`` (1 for a joint run), ``request`` (what this step asked
to forget, e.g. ``3->8``), ``forget`` ({class or concept: forget rate from the run's own classifier}),
``judge_forget`` (the same from the independent judge, or None), ``retained`` (retained accuracy), ``fid_ratio``
(generator FID / teacher FID, None where the config measures no FID) and ``seconds`` (the fit's wall time).
"""

from typing import Any, Dict, List, Optional, Sequence

from sfd_lightning.io.markdown_table import markdown_table

# Goal of issue 41: every forgotten class at most 2%, retained at least 95%, FID at most 1.3 times the teacher's
GOAL = {"forget": 0.02, "retained": 0.95, "fid_ratio": 1.3}
HEAD = ("experiment", "seed", "step", "request", "forget rate (classifier)", "forget rate (judge)", "retained",
        "FID ratio", "time (s)", "goal")  # fmt: skip


def percent(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def rates(forget: Optional[Dict[str, float]]) -> str:
    """``0: 0.50%, 3: 1.25%``: every forgotten class or concept with its forget rate (``n/a``: not measured)."""
    if not forget:
        return "n/a"
    return ", ".join(f"{name}: {percent(rate)}" for name, rate in forget.items())


def misses(run: Dict[str, Any], goal: Dict[str, float] = GOAL) -> List[str]:
    """What keeps the run from the goal, in words (empty: it meets it). The judge's rates count where measured; an
    FID the config does not measure (None) is no miss, a forget or retained figure missing is one."""
    out = []
    for who, by in (("forget", ""), ("judge_forget", " (judge)")):
        for name, rate in (run.get(who) or {}).items():
            if rate is None or rate > goal["forget"]:
                out.append(f"{name} forget{by} {percent(rate)} > {percent(goal['forget'])}")
    if not run.get("forget"):
        out.append("no forget rate")
    if run.get("retained") is None or run["retained"] < goal["retained"]:
        out.append(f"retained {percent(run.get('retained'))} < {percent(goal['retained'])}")
    if run.get("fid_ratio") is not None and run["fid_ratio"] > goal["fid_ratio"]:
        out.append(f"FID ratio {run['fid_ratio']:.3f} > {goal['fid_ratio']}")
    return out


def row(run: Dict[str, Any]) -> List[str]:
    fid = run.get("fid_ratio")
    seconds = run.get("seconds")
    return [
        run["experiment"],
        str(run["seed"]),
        str(run.get("step", 1)),
        run.get("request", ""),
        rates(run.get("forget")),
        rates(run.get("judge_forget")),
        percent(run.get("retained")),
        "n/a" if fid is None else f"{fid:.3f}",
        "n/a" if seconds is None else f"{seconds:.0f}",
        "PASS" if not misses(run) else "MISS",
    ]


def results_table(runs: Sequence[Dict[str, Any]]) -> str:
    """The Markdown table of the runs, in their order, and a goal line under it."""
    table = markdown_table(HEAD, [row(r) for r in runs])
    passed = sum(not misses(r) for r in runs)
    goal = (
        f"Goal: every forgotten class or concept <= {percent(GOAL['forget'])} (classifier and judge), retained >= "
        f"{percent(GOAL['retained'])}, FID ratio <= {GOAL['fid_ratio']}: {passed} of {len(runs)} rows PASS."
    )
    missed = [f"- {r['experiment']} seed {r['seed']} step {r.get('step', 1)}: {'; '.join(misses(r))}" for r in runs]
    return "\n".join([table, "", goal] + [m for m, r in zip(missed, runs) if misses(r)])
