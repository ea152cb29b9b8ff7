"""``make bench-load``: seconds per SFD iteration alone and beside a second ``sfd fit``, per OpenMP wait policy.

For each policy, ``python -m benchmarks.bench`` times the SFD iteration on an otherwise idle
machine, then again while ``sfd fit`` of the same config runs beside it (both processes under the
policy, with torch's default thread count). ``spin`` is libgomp's own default (``GOMP_SPINCOUNT=300000``),
what ``sfd`` did before; ``passive`` is ``sfd``'s default now (see ``sfd_lightning.runtime.openmp``).

    python -m benchmarks.bench_load [--config configs/digits_forget_2stage.yaml] [--iterations 10]
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

from benchmarks.command_line import tool_parser
from sfd_lightning.runtime.children import children

POLICIES: Dict[str, Dict[str, str]] = {
    "spin (libgomp default, before)": {"GOMP_SPINCOUNT": "300000"},
    "passive (sfd default)": {"OMP_WAIT_POLICY": "PASSIVE"},
}
_MEDIAN = re.compile(r"SFD iteration \(median, in Trainer\.fit\)\s+([\d.]+) ms")


def policy_env(policy: Dict[str, str]) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "WANDB_SERVICE")}
    env.update(policy)
    return env


def iteration_ms(config: str, iterations: int, env: Dict[str, str]) -> float:
    """The bench's median milliseconds per SFD iteration, run in a fresh process under ``env``."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench",
            "--config",
            config,
            "--iterations",
            str(iterations),
            "--rounds",
            "1",
            "--iteration-only",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = _MEDIAN.search(out)
    if found is None:
        raise RuntimeError(f"no iteration time in the bench's output:\n{out[-2000:]}")
    return float(found.group(1))


def beside_a_fit(config: str, iterations: int, env: Dict[str, str], settle_s: float) -> float:
    """:func:`iteration_ms` while ``sfd fit --config config`` trains in another process."""
    with tempfile.TemporaryDirectory() as folder:
        load = children.start(
            [
                sys.executable,
                "-m",
                "sfd_lightning",
                "fit",
                "--config",
                config,
                "--trainer.logger=false",
                "--trainer.enable_progress_bar=false",
                f"--trainer.default_root_dir={folder}",
                "--data.init_args.iterations=1000000",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # dies with this process
        try:
            time.sleep(settle_s)  # past its start-up, into training
            if load.poll() is not None:
                raise RuntimeError(f"the load (sfd fit --config {config}) exited with {load.returncode}")
            return iteration_ms(config, iterations, env)
        finally:
            load.kill()
            load.wait()


def main(argv: List[str] = None) -> None:
    p = tool_parser("bench_load", __doc__, "SFD config that is timed and run as the load")
    p.add_argument("--iterations", type=int, default=10, help="timed SFD iterations per measurement")
    p.add_argument("--settle", type=float, default=25.0, help="seconds the load runs before the timing starts")
    args = p.parse_args(argv)
    rows = []
    for name, policy in POLICIES.items():
        env = policy_env(policy)
        alone = iteration_ms(args.config, args.iterations, env)
        loaded = beside_a_fit(args.config, args.iterations, env, args.settle)
        rows.append((name, alone, loaded))
        print(
            f"  {name:<32} alone {alone:8.1f} ms   beside sfd fit {loaded:8.1f} ms   "
            f"loaded / alone {loaded / alone:5.2f}",
            flush=True,
        )
    base_alone = rows[0][1]
    print(f"\nSFD iteration alone and beside a second `sfd fit` ({args.config}, {os.cpu_count()} CPUs)")
    print("| policy | alone ms | beside sfd fit ms | loaded / alone | loaded / spin alone |\n|---|---|---|---|---|")
    for name, alone, loaded in rows:
        print(f"| {name} | {alone:.1f} | {loaded:.1f} | {loaded / alone:.2f} | {loaded / base_alone:.2f} |")


if __name__ == "__main__":
    main()
