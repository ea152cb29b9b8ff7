"""``sfd compare --parallel N``: each method computed by its own ``sfd compare --only NAME`` child process, N at a
time, the CPU threads (and GPUs) shared between them as ``sfd sweep --parallel`` shares them: a small model does not
keep every core of one process busy, so methods side by side finish sooner. The parent then writes the table from
the methods' cached results. Training times are then measured beside other work."""
import os
import subprocess
import sys
import time
from typing import Dict, List

from sfd_lightning.compare.spec import CompareSpec, Method, folder_name
from sfd_lightning.sweep.local import gpu_slots, run_environment


def run_children(spec_path: str, spec: CompareSpec, methods: List[Method], parallel: int, options: List[str],
                 log=print) -> List[str]:
    """Compute every method in a child process (``sfd compare`` with ``options``), ``parallel`` at a time; returns the
    names of those that failed (each child's output is in ``<out>/compare_logs/<method folder>.log``)."""
    import torch

    env = run_environment(parallel)
    slots = gpu_slots(parallel, os.environ.get("CUDA_VISIBLE_DEVICES"), torch.cuda.device_count())
    waiting, running, failed = list(methods), {}, []  # running: slot -> (method, process)
    while waiting or running:
        for slot in [s for s in range(parallel) if s not in running][:len(waiting)]:
            method = waiting.pop(0)
            log_path = os.path.join(spec.out, "compare_logs", f"{folder_name(method.name)}.log")
            os.makedirs(os.path.dirname(log_path), exist_ok=True)
            child_env: Dict[str, str] = dict(env, **({"CUDA_VISIBLE_DEVICES": slots[slot]} if slots[slot] else {}))
            argv = [sys.executable, "-m", "sfd_lightning", "compare", spec_path, "--only", method.name, "--out", spec.out, *options]
            with open(log_path, "w") as out:
                running[slot] = (method, subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=child_env))
            log(f"{method.name}: computing in a child process (log: {log_path})")
        time.sleep(0.5)
        for slot, (method, process) in list(running.items()):
            if process.poll() is not None:
                del running[slot]
                log(f"{method.name}: {'done' if process.returncode == 0 else 'FAILED'}")
                if process.returncode != 0:
                    failed.append(method.name)
    return failed
