"""The GPU check's steps, each in a process of its own with its own time cap, results written as they come.

A step that hangs, runs out of memory or fails is killed or recorded and the next one runs; after every step
``gpu_check.json`` and ``gpu_check.md`` in the output folder are rewritten, so a check cut short keeps what it had.
Steps run most important first; with ``--budget`` seconds for the whole check, a step gets the smaller of its own
cap and what is left, and is skipped when under ``MIN_STEP_S`` is left. ``benchmarks/gpu/run.sh`` calls this.

    python -m benchmarks.gpu_steps --out runs/gpu_check [--device cuda] [--tiny] [--only a,b | --skip a,b]
    python -m benchmarks.gpu_steps --list
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from benchmarks.gpu_report import write_markdown

MIN_STEP_S = 15
TINY_CAP_FACTOR = 8
PY = [sys.executable, "-m"]


@dataclass
class Step:
    name: str
    title: str
    cap_s: int
    argv: List[str]  # the command; {out}: the step's result file, {dir}: its own folder
    env: Dict[str, str] = field(default_factory=dict)


def iteration(name: str, title: str, cap_s: int, case: str, mode: str, *extra: str) -> Step:
    return Step(
        name,
        title,
        cap_s,
        [*PY, "benchmarks.gpu_iteration", "--case", case, "--mode", mode, "--out", "{out}", *extra],
    )


def steps(device: str, tiny: bool) -> List[Step]:
    """Every step, most important first; the caps are for one H100 (tiny: the same steps on a CPU, where the caps are
    ``TINY_CAP_FACTOR`` times longer: a few cores, maybe shared, import and build more slowly than a GPU node runs)."""
    size = ["--device", device] + (["--tiny", "--iterations", "2", "--repeats", "1"] if tiny else [])
    demo = ["--data.init_args.iterations=4"] if tiny else []
    big = ["--iterations", "2", "--repeats", "1"]  # seconds an iteration at 1024 px: fewer, to fit their caps
    every = [
        Step(
            "env",
            "versions, device and the carried packages' imports",
            40,
            [*PY, "benchmarks.gpu_env", "--out", "{out}"],
        ),
        Step(
            "smoke",
            "every backbone at real size: forward + backward, fp32 and bf16, finite",
            75,
            [*PY, "benchmarks.gpu_check", "--smoke-only", "--out", "{out}", *size[:2], *size[2:3]],
        ),
        iteration(
            "sd15-lora",
            "SD 1.5, LoRA bf16: one SFD iteration (peak, s/it, passes ratio, MFU)",
            75,
            "sd15",
            "LoRA bf16",
            *size,
        ),
        Step(
            "digits-demo",
            "the digits demo end to end (sfd fit with its callbacks, FID, report)",
            120,
            [*PY, "benchmarks.gpu_demo", "--device", device, "--dir", "{dir}", "--out", "{out}", *demo],
        ),
        iteration(
            "sd15-lora-robust",
            "robust SFD's overhead on the SD 1.5 LoRA iteration",
            60,
            "sd15",
            "LoRA bf16",
            "--variant",
            "robust",
            *size,
        ),
        iteration("sd15-full", "SD 1.5, full bf16", 45, "sd15", "full bf16", *size),
        iteration("cifar10-full", "CIFAR-10 DDPM UNet, batch 128+128, full fp32", 40, "cifar10", "full fp32", *size),
        iteration("dit-full", "DiT-XL/2-256, full bf16", 45, "dit", "full bf16", *size),
        Step(
            "pytest-gpu",
            "the tests marked gpu (device-parametrised ones on CUDA)",
            45,
            [
                *PY,
                "pytest",
                "-q",
                "-m",
                "gpu and not slow",
                "tests/benchmarks/test_gpu_device.py",
                "--junitxml",
                "{dir}/junit.xml",
            ],
        ),
        iteration("sdxl-lora", "SDXL 1024 px, LoRA bf16", 60, "sdxl", "LoRA bf16", *big, *size),
        iteration("sd3-lora", "SD3-medium 1024 px, LoRA bf16", 60, "sd3", "LoRA bf16", *big, *size),
        iteration("flux-lora", "FLUX.1-dev 1024 px, LoRA bf16", 90, "flux", "LoRA bf16", *big, *size),
        iteration(
            "sd15-lora-compile",
            "torch.compile on/off on the SD 1.5 LoRA iteration",
            100,
            "sd15",
            "LoRA bf16",
            "--variant",
            "compile",
            *size,
            *(["--compile-backend", "aot_eager"] if tiny else []),
        ),
    ]
    for step in every if tiny else ():
        step.cap_s *= TINY_CAP_FACTOR
    return every


def run_step(step: Step, out: Path, cap_s: float) -> Dict:
    """Run ``step`` with a wall-clock cap of ``cap_s``; its record (status ok, failed or timeout; its result)."""
    folder = out / "steps" / step.name
    folder.mkdir(parents=True, exist_ok=True)
    result_file = folder / "result.json"
    argv = [a.replace("{out}", str(result_file)).replace("{dir}", str(folder)) for a in step.argv]
    record = {"name": step.name, "title": step.title, "cap_s": round(cap_s), "log": f"steps/{step.name}/log.txt"}
    start = time.time()
    with open(folder / "log.txt", "w") as log:
        log.write(" ".join(argv) + "\n")
        log.flush()
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **step.env}
        )
        try:
            code = proc.wait(timeout=cap_s)
            record["status"] = "ok" if code == 0 else f"failed (exit {code})"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the step and whatever it started
            proc.wait()
            record["status"] = f"timeout: killed after {cap_s:.0f} s"
    record["wall_s"] = round(time.time() - start, 1)
    if result_file.exists():
        record["result"] = json.loads(result_file.read_text())
    if not record["status"] == "ok":
        record["last_lines"] = (folder / "log.txt").read_text(errors="replace").splitlines()[-8:]
    return record


def run_all(chosen: List[Step], out: Path, budget_s: float, header: Dict) -> Dict:
    out.mkdir(parents=True, exist_ok=True)
    report = {**header, "budget_s": budget_s, "steps": []}
    start = time.time()
    for step in chosen:
        left = budget_s - (time.time() - start)
        if left < MIN_STEP_S:
            report["steps"].append(
                {"name": step.name, "title": step.title, "status": f"skipped: {left:.0f} s of the budget left"}
            )
        else:
            report["steps"].append({"name": step.name, "title": step.title, "status": "running"})
            save(report, out)  # a check killed from outside still shows where it was
            report["steps"][-1] = run_step(step, out, min(step.cap_s, left))
        print(
            f"[gpu-check] {step.name}: {report['steps'][-1]['status']} ({report['steps'][-1].get('wall_s', 0)} s)",
            flush=True,
        )
        save(report, out)
    report["wall_s"] = round(time.time() - start, 1)
    save(report, out)
    return report


def save(report: Dict, out: Path) -> None:
    tmp = out / "gpu_check.json.tmp"
    tmp.write_text(json.dumps(report, indent=1))
    tmp.replace(out / "gpu_check.json")
    write_markdown(report, out / "gpu_check.md")


def select(all_steps: List[Step], only: Optional[str], skip: Optional[str]) -> List[Step]:
    names = [s.name for s in all_steps]
    wanted = only.split(",") if only else names
    dropped = skip.split(",") if skip else []
    unknown = [n for n in wanted + dropped if n not in names]
    if unknown:
        raise SystemExit(f"gpu-check: unknown step {unknown[0]!r}; steps: {', '.join(names)}")
    return [s for s in all_steps if s.name in wanted and s.name not in dropped]


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.gpu_steps",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out",
        default=os.environ.get("GPU_CHECK_OUT", "runs/gpu_check"),
        help="folder for gpu_check.json, gpu_check.md and each step's log (default: $GPU_CHECK_OUT)",
    )
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--tiny", action="store_true", help="tiny networks and few iterations: a rehearsal of every step")
    p.add_argument("--budget", type=float, default=540, help="seconds for the whole check (default 540: 9 minutes)")
    p.add_argument("--only", default=None, help="comma-separated steps to run")
    p.add_argument("--skip", default=None, help="comma-separated steps to leave out")
    p.add_argument("--list", action="store_true", help="print the steps and their caps")
    args = p.parse_args(argv)
    chosen = select(steps(args.device, args.tiny), args.only, args.skip)
    if args.list:
        for s in chosen:
            print(f"{s.name:<20} {s.cap_s:4d} s  {s.title}")
        return
    header = {"device": args.device, "tiny": args.tiny, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    report = run_all(chosen, Path(args.out), args.budget, header)
    print(f"[gpu-check] done in {report['wall_s']} s: {Path(args.out) / 'gpu_check.md'}")


if __name__ == "__main__":
    main()
