"""The GPU check's first step: Python, torch, CUDA and the device; each package's version and where it was
imported from (the node's own or carried in ``.whl/``); the optional libraries present or absent; and the
project's command line imported, so a package the node lacks shows here rather than in a later step.

    python -m benchmarks.gpu_env [--out env.json]
"""

import argparse
import importlib
import json
import platform
import subprocess
import sys
from typing import Dict, List, Optional

import torch

PACKAGES = (
    "torch",
    "torchvision",
    "lightning",
    "transformers",
    "diffusers",
    "peft",
    "torchmetrics",
    "jsonargparse",
    "huggingface_hub",
    "safetensors",
    "accelerate",
    "numpy",
)
OPTIONAL = ("wandb", "nudenet", "dlib", "optuna", "torch_fidelity")  # only the steps that use them need them


def package(name: str) -> Dict[str, Optional[str]]:
    try:
        module = importlib.import_module(name)
    except Exception as err:  # absent or broken: the line says which
        return {"version": None, "error": f"{type(err).__name__}: {err}"[:200]}
    return {"version": getattr(module, "__version__", "?"), "from": getattr(module, "__file__", None)}


def device() -> Dict:
    if not torch.cuda.is_available():
        return {"cuda": False}
    props = torch.cuda.get_device_properties(0)
    return {
        "cuda": True,
        "name": props.name,
        "memory_GiB": props.total_memory / 2**30,
        "capability": f"{props.major}.{props.minor}",
        "torch_cuda": torch.version.cuda,
        "bf16": torch.cuda.is_bf16_supported(),
        "count": torch.cuda.device_count(),
    }


def nvidia_smi() -> List[str]:
    try:
        return subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=20).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return []


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.gpu_env",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default=None, help="write the report as JSON here")
    args = p.parse_args(argv)
    report = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": device(),
        "packages": {n: package(n) for n in PACKAGES},
        "optional": {n: package(n).get("version") is not None for n in OPTIONAL},
        "sfd_cli": package("sfd_lightning.cli").get("error", "imports"),
        "nvidia_smi": nvidia_smi(),
    }
    print(json.dumps(report, indent=1), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)
    missing = [n for n, v in report["packages"].items() if v["version"] is None]
    if missing or report["sfd_cli"] != "imports":
        raise SystemExit(f"gpu_env: cannot import {missing or ['sfd_lightning.cli']}")


if __name__ == "__main__":
    main()
