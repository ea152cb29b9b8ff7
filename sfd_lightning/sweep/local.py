"""Run a sweep's settings as ``sfd fit`` subprocesses on this machine, N at a time."""
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from sfd_lightning.openmp import prefer_passive_wait
from sfd_lightning.sweep.spec import SweepSpec

WANDB_LOGGER = "sfd_lightning.loggers.SFDWandbLogger"


def format_arg(key: str, value: Any) -> str:
    """``--key=value`` as W&B's agent writes ``${args}``, with YAML spellings for null, booleans and structures."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value)
    else:
        text = str(value)
    return f"--{key}={text}"


def _config_logger(argv: List[str]) -> Optional[str]:
    """class_path of trainer.logger in the command's --config file, if it names one."""
    for flag, path in zip(argv, argv[1:]):
        if flag == "--config" and os.path.isfile(path):
            logger = (yaml.safe_load(open(path)) or {}).get("trainer", {}).get("logger")
            return logger.get("class_path") if isinstance(logger, dict) else None
    return None


def build_command(spec: SweepSpec, params: Dict[str, Any], run_dir: Path, run_name: str) -> List[str]:
    """The spec's command with its macros filled in, writing under ``run_dir``."""
    argv: List[str] = []
    for token in spec.command:
        if token == "${env}":
            continue
        if token == "${interpreter}":
            argv.append(sys.executable)
        elif token == "${program}":
            argv.append(str(spec.raw.get("program", "sfd")))
        elif token in ("${args}", "${args_no_hyphens}"):
            args = [format_arg(k, v) for k, v in params.items()]
            argv.extend(a[2:] for a in args) if token == "${args_no_hyphens}" else argv.extend(args)
        else:
            argv.append(token)
    if argv and argv[0] == "sfd":  # this environment's sfd, whatever PATH says
        argv[:1] = [sys.executable, "-m", "sfd_lightning"]
    argv += [f"--trainer.default_root_dir={run_dir}", f"--trainer.logger.init_args.save_dir={run_dir}"]
    if _config_logger(argv) == WANDB_LOGGER:
        argv += [f"--trainer.logger.init_args.group={spec.name}", f"--trainer.logger.init_args.name={run_name}"]
    return argv


@dataclass
class Run:
    name: str
    params: Dict[str, Any]
    folder: Path
    argv: List[str]
    process: Optional[subprocess.Popen] = None
    started: float = 0.0
    seconds: float = 0.0
    returncode: Optional[int] = None

    def row(self) -> Dict[str, Any]:
        """Parameters, status, wall time and the run's report.json metrics."""
        row: Dict[str, Any] = {"run": self.name, **self.params,
                               "status": "ok" if self.returncode == 0 else f"failed ({self.returncode})",
                               "seconds": round(self.seconds, 1)}
        reports = sorted(self.folder.rglob("report.json"))
        if reports:
            row.update(json.loads(reports[-1].read_text()))
        return row


def run_local(spec: SweepSpec, out_dir: Path, parallel: int = 1, seed: int = 0, echo=print) -> List[Run]:
    """Run every setting (``parallel`` at a time, CPU threads shared between them); a failed run does not stop the rest."""
    runs = []
    for i, params in enumerate(spec.runs(seed)):
        name = f"r{i:03d}"
        runs.append(Run(name, params, out_dir / name, build_command(spec, params, out_dir / name, name)))
    threads = max(1, (os.cpu_count() or 1) // parallel)
    # Each run starts its own W&B service rather than joining one this process may hold (WANDB_SERVICE).
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
    env["OMP_NUM_THREADS"] = str(threads)
    prefer_passive_wait(env)  # parallel runs share the cores: threads that wait must not spin
    env.setdefault("WANDB_MODE", "offline")
    waiting, active = list(runs), []
    while waiting or active:
        while waiting and len(active) < parallel:
            run = waiting.pop(0)
            run.folder.mkdir(parents=True, exist_ok=True)
            (run.folder / "command.txt").write_text(" ".join(run.argv) + "\n")
            log = open(run.folder / "output.log", "w")
            run.process = subprocess.Popen(run.argv, stdout=log, stderr=subprocess.STDOUT, env=env)
            run.started = time.time()
            echo(f"[{spec.name}] {run.name} started: {' '.join(format_arg(k, v) for k, v in run.params.items())}")
            active.append(run)
        time.sleep(0.5)
        for run in [r for r in active if r.process.poll() is not None]:
            run.returncode, run.seconds = run.process.returncode, time.time() - run.started
            active.remove(run)
            echo(f"[{spec.name}] {run.name} {'finished' if run.returncode == 0 else 'FAILED'} in {run.seconds:.0f}s "
                 f"(log: {run.folder / 'output.log'})")
    return runs
