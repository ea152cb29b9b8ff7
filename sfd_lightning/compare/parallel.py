"""``sfd compare --parallel N``: each method computed by its own ``sfd compare --only NAME --record-only`` child
process, N at a time, the CPU threads (and GPUs) shared between them as ``sfd sweep --parallel`` shares them: a small
model does not keep every core of one process busy, so methods side by side finish sooner. A child records its
method's row in the method's folder and writes no table; the parent alone writes the table once every child has
ended (``table.py``). The children are owned (``runtime.children``): a signal to the parent stops them too.
Training times are then measured beside other work."""

import os
import subprocess
import sys
import time
from typing import Dict, List

from sfd_lightning.compare.spec import CompareSpec, Method
from sfd_lightning.io.folder_name import folder_name
from sfd_lightning.runtime.children import Interrupted, children
from sfd_lightning.sweep.local import gpu_slots, run_environment


def child_argv(spec_path: str, method: Method, out: str, options: List[str]) -> List[str]:
    """The child's command: this comparison, this one method, its row recorded and no table written."""
    return [
        sys.executable,
        "-m",
        "sfd_lightning",
        "compare",
        spec_path,
        "--only",
        method.name,
        "--out",
        out,
        "--record-only",
        *options,
    ]


def run_children(
    spec_path: str,
    spec: CompareSpec,
    methods: List[Method],
    parallel: int,
    options: List[str],
    status: Dict[str, str],
    log=print,
) -> None:
    """Compute every method in a child process (``sfd compare`` with ``options``), ``parallel`` at a time; ``status``
    gets each method's outcome as it ends: ``ok``, or ``failed (exit N; log: PATH)`` (each child's output is in
    ``<out>/compare_logs/<method folder>.log``). A signal (:class:`Interrupted`) stops the running children before it
    goes on; a child that had finished by then still counts as ``ok``."""
    import torch

    env = run_environment(parallel)
    slots = gpu_slots(parallel, os.environ.get("CUDA_VISIBLE_DEVICES"), torch.cuda.device_count())
    waiting, running = list(methods), {}  # running: slot -> (method, process, log path)
    try:
        while waiting or running:
            for slot in [s for s in range(parallel) if s not in running][: len(waiting)]:
                method = waiting.pop(0)
                log_path = os.path.join(spec.out, "compare_logs", f"{folder_name(method.name)}.log")
                os.makedirs(os.path.dirname(log_path), exist_ok=True)
                child_env: Dict[str, str] = dict(env, **({"CUDA_VISIBLE_DEVICES": slots[slot]} if slots[slot] else {}))
                status[method.name] = "running"
                with open(log_path, "w") as out:
                    process = children.start(
                        child_argv(spec_path, method, spec.out, options),
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        env=child_env,
                    )
                running[slot] = (method, process, log_path)
                log(f"{method.name}: computing in a child process (log: {log_path})")
            time.sleep(0.5)
            for slot, (method, process, log_path) in list(running.items()):
                if process.poll() is not None:
                    del running[slot]
                    status[method.name] = (
                        "ok" if process.returncode == 0 else f"failed (exit {process.returncode}; log: {log_path})"
                    )
                    log(f"{method.name}: {'done' if process.returncode == 0 else 'FAILED'}")
    except Interrupted:
        children.stop(log=log)
        for method, process, _ in running.values():
            if process.returncode == 0:
                status[method.name] = "ok"
        raise
