"""``sfd sweep experiments/<name>.yaml [--parallel N] [--local]``.

With W&B reachable (logged in, WANDB_MODE not offline) and without ``--local``, the spec is
registered with ``wandb.sweep`` and ``--parallel`` W&B agents run it; the dashboard compares the
runs. Otherwise the same spec runs here: every setting as an ``sfd fit`` subprocess under
``<out>/<sweep name>/r000, r001, ...``, then ``summary.csv``, ``summary.md`` and ``plots.png``.
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

from sfd_lightning.errors import ConfigError
from sfd_lightning.loggers import wandb_offline
from sfd_lightning.sweep.local import run_local
from sfd_lightning.sweep.spec import SweepSpec, load_spec
from sfd_lightning.sweep.summary import plot_metrics, write_tables


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sfd sweep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", help="W&B sweep spec (YAML): method, parameters, command with ${args}")
    parser.add_argument("--parallel", type=int, default=1, help="runs (or W&B agents) at a time")
    parser.add_argument("--local", action="store_true", help="run here even when W&B is reachable")
    parser.add_argument("--out", default="runs/sweeps", help="folder for local sweeps (a subfolder per sweep)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the local random/bayes draws")
    parser.add_argument("--count", type=int, default=None, help="W&B agents: runs per agent (default: until the sweep ends)")
    args = parser.parse_args(argv)
    if args.parallel < 1:
        raise ConfigError("--parallel", f"must be >= 1, got {args.parallel}")
    return args


def run_with_wandb(spec: SweepSpec, parallel: int, count: Optional[int]) -> int:
    import wandb

    sweep_id = wandb.sweep(spec.raw, project=spec.project)
    bin_dir = os.path.dirname(sys.executable)  # so the agents find this environment's `sfd`
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    agent = [sys.executable, "-m", "wandb", "agent", "--project", spec.project, sweep_id]
    agent += ["--count", str(count)] if count else []
    agents = [subprocess.Popen(agent, env=env) for _ in range(parallel)]
    return max(p.wait() for p in agents)


def main(argv: List[str]) -> None:
    args = parse_args(argv)
    spec = load_spec(args.spec)
    if not args.local and not wandb_offline():
        sys.exit(run_with_wandb(spec, args.parallel, args.count))
    out = Path(args.out) / spec.name
    out.mkdir(parents=True, exist_ok=True)
    print(f"[{spec.name}] W&B not reachable or --local: running {spec.method} sweep here, {args.parallel} at a time, in {out}")
    runs = run_local(spec, out, args.parallel, args.seed)
    rows = [r.row() for r in runs]
    params = list(spec.parameters)
    metrics = write_tables(rows, params, out)
    plot_metrics(rows, params, metrics, out / "plots.png")
    print((out / "summary.md").read_text())
    print(f"[{spec.name}] table: {out / 'summary.csv'}, {out / 'summary.md'}; plot: {out / 'plots.png'}")
    if any(r.returncode != 0 for r in runs):
        sys.exit(1)
