"""Run a sweep's settings as ``sfd fit`` subprocesses on this machine, N at a time, each on its own GPU
when there are GPUs; a Bayesian search proposes each new run from the results so far."""

import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from sfd_lightning.runtime.children import children
from sfd_lightning.runtime.openmp import prefer_passive_wait
from sfd_lightning.sweep.search import Proposal, Search
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


def _config_file_logger(path: str) -> Any:
    """trainer.logger of a --config file (a fragment, a path relative to the config as jsonargparse reads it, is
    read); ``...`` when the file does not set it."""
    logger = ((yaml.safe_load(Path(path).read_text()) or {}).get("trainer") or {}).get("logger", ...)
    fragment = Path(path).parent / logger if isinstance(logger, str) else None
    return yaml.safe_load(fragment.read_text()) if fragment and fragment.is_file() else logger


def command_logger(argv: List[str]) -> Any:
    """The trainer.logger the command's run gets, as its --config files and --trainer.logger options set it in
    order (the last wins): a ``{class_path, ...}`` mapping, ``False``, or another value (``...``: none sets it, so
    Lightning's default)."""
    logger: Any = ...
    for flag, value in zip(argv, argv[1:] + [""]):
        if flag == "--config" and os.path.isfile(value):
            found = _config_file_logger(value)
            logger = logger if found is ... else found
        elif flag.startswith("--trainer.logger=") or flag == "--trainer.logger":
            logger = yaml.safe_load(flag.split("=", 1)[1] if "=" in flag else value)
    return logger


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
    logger = command_logger(argv)
    argv.append(f"--trainer.default_root_dir={run_dir}")  # a run without a logger class writes there alone
    if isinstance(logger, dict) and logger.get("class_path"):
        argv.append(f"--trainer.logger.init_args.save_dir={run_dir}")
        if logger["class_path"] == WANDB_LOGGER:
            argv += [f"--trainer.logger.init_args.group={spec.name}", f"--trainer.logger.init_args.name={run_name}"]
    return argv


def gpu_slots(parallel: int, visible: Optional[str], count: int) -> List[Optional[str]]:
    """``CUDA_VISIBLE_DEVICES`` of each of ``parallel`` run slots: the visible GPUs dealt round-robin (None: leave
    it)."""
    devices = [d.strip() for d in visible.split(",") if d.strip()] if visible else [str(i) for i in range(count)]
    if parallel < 2 or not devices:
        return [None] * parallel
    return [devices[i % len(devices)] for i in range(parallel)]


def metric_value(row: Dict[str, Any], name: Optional[str]) -> Optional[float]:
    """The spec metric of a finished run: its report key, with or without W&B's ``final/`` summary prefix."""
    if not name:
        return None
    for key in (name, name[len("final/") :] if name.startswith("final/") else None):
        if key and isinstance(row.get(key), (int, float)):
            return float(row[key])
    return None


@dataclass
class Run:
    name: str
    proposal: Proposal
    folder: Path
    argv: List[str]
    slot: int = 0
    process: Optional[subprocess.Popen] = None
    started: float = 0.0
    seconds: float = 0.0
    returncode: Optional[int] = None
    interrupted: bool = False  # running when the sweep was stopped by a signal

    @property
    def params(self) -> Dict[str, Any]:
        return self.proposal.params

    def row(self) -> Dict[str, Any]:
        """Parameters, status, wall time and the run's report.json metrics."""
        status = "ok" if self.returncode == 0 else "interrupted" if self.interrupted else f"failed ({self.returncode})"
        row: Dict[str, Any] = {"run": self.name, **self.params, "status": status, "seconds": round(self.seconds, 1)}
        reports = sorted(self.folder.rglob("report.json"))
        if reports:
            row.update(json.loads(reports[-1].read_text()))
        return row


def run_environment(parallel: int) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}  # each run starts its own W&B service
    env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // parallel))
    prefer_passive_wait(env)  # parallel runs share the cores: threads that wait must not spin
    env.setdefault("WANDB_MODE", "offline")
    return env


def run_local(
    spec: SweepSpec, out_dir: Path, parallel: int = 1, seed: int = 0, echo=print, runs: Optional[List[Run]] = None
) -> List[Run]:
    """Run the search's proposals (``parallel`` at a time, CPU threads and GPUs shared between them, each an owned
    child process: ``runtime.children``); a failed run does not stop the rest, and each finished run's metric goes
    back to the search. ``runs`` (filled as they start) holds them when a signal stops the sweep."""
    import torch

    search = Search(spec, seed)
    env = run_environment(parallel)
    slots = gpu_slots(parallel, os.environ.get("CUDA_VISIBLE_DEVICES"), torch.cuda.device_count())
    runs = [] if runs is None else runs
    active: List[Run] = []
    while True:
        while len(active) < parallel:
            proposal = search.ask()
            if proposal is None:
                break
            name = f"r{len(runs):03d}"
            run = Run(name, proposal, out_dir / name, build_command(spec, proposal.params, out_dir / name, name))
            run.slot = min(set(range(parallel)) - {r.slot for r in active})
            run.folder.mkdir(parents=True, exist_ok=True)
            (run.folder / "command.txt").write_text(shlex.join(run.argv) + "\n")  # pasted into a shell: this argv
            run_env = dict(env, **({"CUDA_VISIBLE_DEVICES": slots[run.slot]} if slots[run.slot] is not None else {}))
            with open(run.folder / "output.log", "w") as log:
                run.process = children.start(run.argv, stdout=log, stderr=subprocess.STDOUT, env=run_env)
            run.started = time.time()
            echo(f"[{spec.name}] {run.name} started: {shlex.join(format_arg(k, v) for k, v in run.params.items())}")
            runs.append(run)
            active.append(run)
        if not active:
            return runs
        time.sleep(0.5)
        for run in [r for r in active if r.process.poll() is not None]:
            run.returncode, run.seconds = run.process.returncode, time.time() - run.started
            active.remove(run)
            value = metric_value(run.row(), spec.metric.get("name")) if run.returncode == 0 else None
            search.tell(run.proposal, value)
            shown = f", {spec.metric['name']} {value:.4g}" if value is not None else ""
            echo(
                f"[{spec.name}] {run.name} {'finished' if run.returncode == 0 else 'FAILED'} "
                f"in {run.seconds:.0f}s{shown} "
                f"(log: {run.folder / 'output.log'})"
            )


def end_interrupted(runs: List[Run]) -> None:
    """After a signal stopped the sweep (and its runs: ``runtime.children``): the runs that were still going are
    marked interrupted, with their exit status and time."""
    for run in runs:
        if run.returncode is None and run.process is not None:
            run.returncode, run.seconds = run.process.wait(), time.time() - run.started
            run.interrupted = run.returncode != 0
