"""``sfd sweep experiments/sweeps/<name>.yaml [--parallel N] [--local] [--dry-run]``.

With W&B reachable (logged in, WANDB_MODE not offline) and without ``--local``, the spec is
registered with ``wandb.sweep`` (in its ``entity`` and ``project``) and ``--parallel`` W&B agents run
it, each run in the group named after the sweep; the dashboard compares the runs. Otherwise the same
spec runs here (grid, random, or Bayesian search on the spec's ``metric``): every run an ``sfd fit``
subprocess under ``<out>/<sweep name>/<date-time>/r000, r001, ...``, then ``summary.csv``,
``summary.md`` and ``plots.png``. ``--dry-run`` prints the runs' commands, quoted for a shell, and starts nothing.
"""
import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

from sfd_lightning.errors import ConfigError
from sfd_lightning.loggers.wandb_logger import wandb_offline
from sfd_lightning.sweep.local import build_command, format_arg, metric_value, run_local
from sfd_lightning.sweep.search import Search
from sfd_lightning.sweep.spec import SweepSpec, load_spec
from sfd_lightning.sweep.summary import plot_metrics, write_tables


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sfd sweep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", help="W&B sweep spec (YAML): method, parameters, metric, command with ${args}")
    parser.add_argument("--parallel", type=int, default=1, help="runs (or W&B agents) at a time; on GPUs, one GPU each")
    parser.add_argument("--local", action="store_true", help="run here even when W&B is reachable")
    parser.add_argument("--dry-run", "--dry_run", action="store_true", dest="dry_run",
                        help="print the runs (a Bayesian search: its first, random, runs) and start nothing")
    parser.add_argument("--out", default="runs/sweeps", help="folder for local sweeps (<out>/<sweep name>/<date-time>)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the local random/bayes proposals")
    parser.add_argument("--count", type=int, default=None, help="W&B agents: runs per agent (default: until the sweep ends)")
    args = parser.parse_args(argv)
    if args.parallel < 1:
        raise ConfigError("--parallel", f"must be >= 1, got {args.parallel}")
    return args


def run_with_wandb(spec: SweepSpec, parallel: int, count: Optional[int]) -> int:
    import wandb

    sweep_id = wandb.sweep(spec.raw, entity=spec.entity, project=spec.project)
    bin_dir = os.path.dirname(sys.executable)  # so the agents find this environment's `sfd`
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), WANDB_RUN_GROUP=spec.name)
    agent = [sys.executable, "-m", "wandb", "agent", "--project", spec.project]
    agent += ["--entity", spec.entity] if spec.entity else []
    agent += ["--count", str(count)] if count else []
    agents = [subprocess.Popen(agent + [sweep_id], env=env) for _ in range(parallel)]
    return max(p.wait() for p in agents)


def fresh_folder(out: Path, name: str) -> Path:
    """``<out>/<name>/<date-time>``, new for every invocation, so a second sweep never mixes with the first."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder, k = out / name / stamp, 1
    while folder.exists():
        k += 1
        folder = out / name / f"{stamp}-{k}"
    folder.mkdir(parents=True)
    return folder


def dry_run(spec: SweepSpec, seed: int, out: Path) -> None:
    search = Search(spec, seed)
    runs = search.preview()
    later = f"; then up to {search.run_cap - len(runs)} more, proposed from their {spec.metric['name']}" \
        if spec.method == "bayes" and search.run_cap > len(runs) else ""
    print(f"[{spec.name}] {spec.method} search, {len(runs)} runs{later} (dry run: nothing started)")
    for i, params in enumerate(runs):
        print(f"r{i:03d}: " + shlex.join(build_command(spec, params, out / "<date-time>" / f"r{i:03d}", f"r{i:03d}")))


def main(argv: List[str]) -> None:
    args = parse_args(argv)
    spec = load_spec(args.spec)
    if args.dry_run:
        return dry_run(spec, args.seed, Path(args.out) / spec.name)
    if not args.local and not wandb_offline():
        sys.exit(run_with_wandb(spec, args.parallel, args.count))
    out = fresh_folder(Path(args.out), spec.name)
    print(f"[{spec.name}] W&B not reachable or --local: running the {spec.method} search here, {args.parallel} at a time, in {out}")
    runs = run_local(spec, out, args.parallel, args.seed)
    rows = [r.row() for r in runs]
    params = list(spec.parameters)
    objective = spec.metric.get("name")
    metrics = write_tables(rows, params, out, objective)
    written = [out / "summary.csv", out / "summary.md"]
    if plot_metrics(rows, params, metrics, out / "plots.png"):
        written.append(out / "plots.png")
    print((out / "summary.md").read_text())
    scored = [(metric_value(r, objective), r) for r in rows if r["status"] == "ok"]
    scored = [(v, r) for v, r in scored if v is not None]
    if scored:
        value, best = (min if spec.metric["goal"] == "minimize" else max)(scored, key=lambda vr: vr[0])
        print(f"[{spec.name}] best {objective}: {value:.4g} ({best['run']}: {shlex.join(format_arg(k, best[k]) for k in params)})")
    print(f"[{spec.name}] wrote " + ", ".join(str(p) for p in written))
    if any(r.returncode != 0 for r in runs):
        sys.exit(1)
