"""``sfd sweep experiments/sweeps/<name>.yaml [--parallel N] [--local] [--dry-run]``.

With W&B reachable (logged in, WANDB_MODE not offline) and without ``--local``, the spec is
registered with ``wandb.sweep`` (in its ``entity`` and ``project``) and ``--parallel`` W&B agents run
it, each run in the group named after the sweep; the dashboard compares the runs. Otherwise the same
spec runs here (grid, random, or Bayesian search on the spec's ``metric``): every run an ``sfd fit``
subprocess under ``<out>/<sweep name>/<date-time>/r000, r001, ...``, then ``summary.csv``,
``summary.md``, ``plots.png`` and ``best.json`` (the best run; with ``--constraint``, the best of those that
satisfy every constraint, e.g. a baseline's best FID among the settings that forget). ``--dry-run`` prints the
runs' commands, quoted for a shell, and starts nothing.
"""

import argparse
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence, Union

from sfd_lightning.data.seeding import check_seed
from sfd_lightning.errors import ConfigError
from sfd_lightning.loggers.wandb_logger import wandb_offline
from sfd_lightning.runtime.children import Interrupted, children
from sfd_lightning.sweep.constraint import Constraint, best_run, meets, parse_constraint
from sfd_lightning.sweep.local import Run, build_command, end_interrupted, format_arg, metric_value, run_local
from sfd_lightning.sweep.search import Search
from sfd_lightning.sweep.spec import SweepSpec, load_spec
from sfd_lightning.sweep.summary import plot_metrics, read_rows, write_tables

OPTUNA_SEED_LIMIT = 2**32  # optuna's samplers seed numpy's RandomState, which takes seeds below 2^32


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sfd sweep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("spec", help="W&B sweep spec (YAML): method, parameters, metric, command with ${args}")
    parser.add_argument("--parallel", type=int, default=1, help="runs (or W&B agents) at a time; on GPUs, one GPU each")
    parser.add_argument("--local", action="store_true", help="run here even when W&B is reachable")
    parser.add_argument(
        "--dry-run",
        "--dry_run",
        action="store_true",
        dest="dry_run",
        help="print the runs (a Bayesian search: its first, random, runs) and start nothing",
    )
    parser.add_argument("--out", default="runs/sweeps", help="folder for local sweeps (<out>/<sweep name>/<date-time>)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the local random/bayes proposals, in [0, 2^32)")
    parser.add_argument(
        "--count", type=int, default=None, help="W&B agents: runs per agent (default: until the sweep ends)"
    )
    parser.add_argument(
        "--constraint",
        action="append",
        default=[],
        type=parse_constraint,
        help="local sweeps: METRIC<=VALUE (or >=, <, >) a run must meet to be the best, e.g. "
        "final/forget/accuracy<=0.05; repeatable",
    )
    parser.add_argument(
        "--summarize",
        metavar="FOLDER",
        default=None,
        help="run nothing: rewrite the summary and best.json of a finished local sweep's folder (e.g. "
        "under another --constraint)",
    )
    return parser


def run_with_wandb(spec: SweepSpec, parallel: int, count: Optional[int]) -> int:
    import wandb

    sweep_id = wandb.sweep(spec.raw, entity=spec.entity, project=spec.project)
    bin_dir = os.path.dirname(sys.executable)  # so the agents find this environment's `sfd`
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), WANDB_RUN_GROUP=spec.name)
    agent = [sys.executable, "-m", "wandb", "agent", "--project", spec.project]
    agent += ["--entity", spec.entity] if spec.entity else []
    agent += ["--count", str(count)] if count else []
    try:
        with children.stopped_on_signal():
            agents = [children.start(agent + [sweep_id], env=env) for _ in range(parallel)]
            return max(p.wait() for p in agents)
    except Interrupted as stop:  # the agents were stopped with their runs; W&B marks the runs as it sees them end
        print(f"[{spec.name}] {stop}: the W&B agents were stopped", file=sys.stderr)
        return stop.status


def fresh_folder(out: Path, name: str) -> Path:
    """``<out>/<name>/<date-time>``, new for every invocation, so a second sweep never mixes with the first."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder, k = out / name / stamp, 1
    while folder.exists():
        k += 1
        folder = out / name / f"{stamp}-{k}"
    folder.mkdir(parents=True)
    return folder


def print_dry_run(spec: SweepSpec, seed: int, out: Path) -> None:
    """Print the runs' commands as they are drawn (a long list shows as it goes)."""
    search = Search(spec, seed)
    shown = search.run_cap if spec.method != "bayes" else search.startup
    later = (
        f"; then up to {search.run_cap - shown} more, proposed from their {spec.metric['name']}"
        if spec.method == "bayes" and search.run_cap > shown
        else ""
    )
    print(f"[{spec.name}] {spec.method} search, {shown} runs{later} (dry run: nothing started)", flush=True)
    for i, params in enumerate(search.preview()):
        print(
            f"r{i:03d}: " + shlex.join(build_command(spec, params, out / "<date-time>" / f"r{i:03d}", f"r{i:03d}")),
            flush=True,
        )


def main(argv: List[str]) -> None:
    args = build_parser().parse_args(argv)
    sweep(
        args.spec,
        parallel=args.parallel,
        local=args.local,
        dry_run=args.dry_run,
        out=args.out,
        seed=args.seed,
        count=args.count,
        constraint=args.constraint,
        summarize=args.summarize,
    )


def sweep(
    spec: str,
    *,
    parallel: int = 1,
    local: bool = False,
    dry_run: bool = False,
    out: str = "runs/sweeps",
    seed: int = 0,
    count: Optional[int] = None,
    constraint: Sequence[Union[str, Constraint]] = (),
    summarize: Optional[str] = None,
) -> Optional[Path]:
    """``sfd sweep``: the arguments are its options. Returns the folder of a sweep run here (``summarize``: that
    folder; None for a dry run or a W&B sweep). Exits (``SystemExit``) with the runs' status when one failed or a
    signal stopped the sweep, after writing the summary of what finished."""
    if parallel < 1:
        raise ConfigError("--parallel", f"must be >= 1, got {parallel}")
    check_seed(seed, "--seed", limit=OPTUNA_SEED_LIMIT)
    constraints = [c if isinstance(c, Constraint) else parse_constraint(c) for c in constraint]
    loaded = load_spec(spec)
    if dry_run:
        print_dry_run(loaded, seed, Path(out) / loaded.name)
        return None
    if summarize:
        folder = Path(summarize)
        write_summary(loaded, read_rows(folder), folder, constraints)
        return folder
    if not local and not wandb_offline():
        if constraints:
            raise ConfigError(
                "--constraint",
                "applies to sweeps run here (--local) and --summarize; a W&B sweep's dashboard filters its runs itself",
            )
        status = run_with_wandb(loaded, parallel, count)
        if status:
            sys.exit(status)
        return None
    folder = fresh_folder(Path(out), loaded.name)
    print(
        f"[{loaded.name}] W&B not reachable or --local: running the {loaded.method} search here, "
        f"{parallel} at a time, in {folder}"
    )
    runs: List[Run] = []
    try:
        with children.stopped_on_signal():
            run_local(loaded, folder, parallel, seed, runs=runs)
    except Interrupted as stop:
        end_interrupted(runs)
        headline = stopped_headline(runs, Search(loaded, seed).run_cap, stop)
        write_summary(loaded, [r.row() for r in runs], folder, constraints, headline)
        print(f"[{loaded.name}] {headline}", file=sys.stderr)
        sys.exit(stop.status)
    write_summary(loaded, [r.row() for r in runs], folder, constraints)
    if any(r.returncode != 0 for r in runs):
        sys.exit(1)
    return folder


def stopped_headline(runs: List[Run], planned: int, stop: Interrupted) -> str:
    """What a signal left: the runs that finished, those it interrupted, and how many never started."""

    def names(chosen: List[Run]) -> str:
        return ", ".join(r.name for r in chosen) or "none"

    finished = [r for r in runs if not r.interrupted]
    return (
        f"Stopped by {stop.name}: finished {names(finished)}; interrupted "
        f"{names([r for r in runs if r.interrupted])}; {planned - len(runs)} of {planned} runs not started"
    )


def write_summary(
    spec: SweepSpec, rows: List[dict], out: Path, constraints: List[Constraint], headline: str = ""
) -> None:
    """summary.csv/.md (with a ``meets`` column under constraints), plots.png and best.json, printed and named;
    ``headline`` (a sweep stopped early) heads summary.md and goes into best.json."""
    params = list(spec.parameters)
    objective = spec.metric.get("name")
    if constraints:
        rows = [dict(r, meets="yes" if meets(r, constraints) else "no") for r in rows]
    metrics = write_tables(rows, params + (["meets"] if constraints else []), out, objective, headline)
    written = [out / "summary.csv", out / "summary.md"]
    if plot_metrics(rows, params, metrics, out / "plots.png"):
        written.append(out / "plots.png")
    print((out / "summary.md").read_text())
    if objective:
        written += report_best(spec, rows, params, constraints, out, headline)
    print(f"[{spec.name}] wrote " + ", ".join(str(p) for p in written))


def report_best(
    spec: SweepSpec, rows: List[dict], params: List[str], constraints: List[Constraint], out: Path, headline: str = ""
) -> List[Path]:
    """Print the best run (among those meeting the constraints) and write it to ``best.json`` (with the
    ``headline`` of a sweep stopped early: the best of the runs that finished)."""
    objective, goal = spec.metric["name"], spec.metric["goal"]
    best = best_run(rows, objective, goal, constraints)
    under = f" with {' and '.join(str(c) for c in constraints)}" if constraints else ""
    record = {
        "sweep": spec.name,
        "spec": spec.path,
        "metric": objective,
        "goal": goal,
        "value": None,
        "constraints": [str(c) for c in constraints],
        "run": None,
        "params": None,
        **({"stopped": headline} if headline else {}),
    }
    if best is None:
        record["reason"] = no_best_reason(rows, objective, under)
        print(f"[{spec.name}] no best run: {record['reason']}")
    else:
        record.update(value=metric_value(best, objective), run=best["run"], params={k: best[k] for k in params})
        print(
            f"[{spec.name}] best {objective}{under}: {record['value']:.4g} ({best['run']}: "
            f"{shlex.join(format_arg(k, best[k]) for k in params)})"
        )
    (out / "best.json").write_text(json.dumps(record, indent=1) + "\n")  # this judgement, replacing an earlier one
    return [out / "best.json"]


def no_best_reason(rows: List[dict], objective: str, under: str) -> str:
    """Why no run is the best: every finished run's metric is nan or inf, or none meets the constraints or has it."""
    values = {r["run"]: metric_value(r, objective) for r in rows if r.get("status") == "ok"}
    if values and all(v is not None and not math.isfinite(v) for v in values.values()):
        return f"every finished run's {objective} is nan or inf ({', '.join(values)})"
    return f"no finished run{under} has a finite {objective}"
