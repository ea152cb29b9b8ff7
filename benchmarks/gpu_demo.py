"""The GPU check's digits demo: ``sfd fit`` of ``configs/digits_forget_2stage.yaml`` end to end on the device, with
its callbacks (forget accuracy, FID, image grids, sampler speed, report), no logger. Its wall time, report and
figures (``metric_curves.png``, ``grids/final.png``) are copied into ``--dir``, with a CPU run's beside them when
``--beside`` names one (``benchmarks/gpu/digits_cpu/``: the shipped CPU figures).

    python -m benchmarks.gpu_demo --device cuda --dir runs/gpu_check/steps/digits-demo --out result.json [fit overrides]
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

CONFIG = "configs/digits_forget_2stage.yaml"
FIGURES = ("report.md", "report.json", "metric_curves.png", "grids/final.png")


def fit(device: str, run: Path, overrides: List[str]) -> float:
    """Seconds of the demo's ``sfd fit`` into ``run``; raises if it fails."""
    accelerator = "gpu" if device == "cuda" else "cpu"
    argv = [
        sys.executable,
        "-m",
        "sfd_lightning",
        "fit",
        "--config",
        CONFIG,
        f"--trainer.accelerator={accelerator}",
        "--trainer.logger=false",
        f"--trainer.default_root_dir={run}",
        *overrides,
    ]
    start = time.time()
    subprocess.run(argv, check=True)
    return time.time() - start


def collect(run: Path, folder: Path, prefix: str) -> List[str]:
    """The run's report and figures, copied into ``folder`` as ``prefix`` + their flattened names."""
    copied = []
    for name in FIGURES:
        if (run / name).exists():
            target = folder / (prefix + name.replace("/", "_"))
            shutil.copyfile(run / name, target)
            copied.append(target.name)
    return copied


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.gpu_demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--dir", required=True, help="folder for the run and its copied figures")
    p.add_argument("--out", required=True, help="the step's result JSON")
    p.add_argument("--beside", default="benchmarks/gpu/digits_cpu", help="a CPU run's figures to set beside (if there)")
    args, overrides = p.parse_known_args(argv)
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    run = folder / "run"
    seconds = fit(args.device, run, overrides)
    result = {
        "wall_s": seconds,
        "device": args.device,
        "overrides": overrides,
        "figures": collect(run, folder, f"{args.device}_"),
    }
    if (run / "report.json").exists():
        result["report"] = json.loads((run / "report.json").read_text())
    beside = Path(args.beside)
    if beside.is_dir():
        result["cpu_figures"] = collect(beside, folder, "shipped_cpu_")
        if (beside / "report.json").exists():
            result["cpu_report"] = json.loads((beside / "report.json").read_text())
    shutil.rmtree(run / "checkpoints", ignore_errors=True)  # what comes back from the node stays small
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
