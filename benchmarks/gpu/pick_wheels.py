"""The carried wheels this Python should install: each one whose distribution it lacks, or has at an older version.

A node that already has a package at the carried version or newer keeps its own (its torchvision matches its torch;
a newer huggingface-hub serves diffusers as well). Prints the chosen wheels' paths, one a line, and on stderr
what it keeps of its own. Run by benchmarks/gpu/run.sh with the node's python3.

    python3 benchmarks/gpu/pick_wheels.py .whl/*.whl
"""

import re
import sys
from importlib import metadata


def version_key(text: str):
    return tuple(int(n) for n in re.findall(r"\d+", text.split("+")[0])[:4])


def wanted(wheel: str) -> bool:
    name, version = wheel.rsplit("/", 1)[-1].split("-")[:2]
    try:
        have = metadata.version(name.replace("_", "-"))
    except metadata.PackageNotFoundError:
        return True
    if version_key(have) >= version_key(version):
        print(f"[gpu-check] keeps its own {name} {have} (carried: {version})", file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    print("\n".join(w for w in sys.argv[1:] if wanted(w)))
