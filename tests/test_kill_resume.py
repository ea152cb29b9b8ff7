"""A run killed with SIGKILL resumes from its last checkpoint and ends where an uninterrupted run ends."""
import os
import signal
import subprocess
import sys
import time

import torch

from conftest import ROOT, short_forget_config, subprocess_env

ITERATIONS = 30


def fit(config, *extra, wait=True):
    cmd = [sys.executable, "-m", "sfd_lightning", "fit", "--config", str(config), *extra]
    env = subprocess_env(WANDB_MODE="offline", OMP_NUM_THREADS="1")  # one thread: the runs compare exactly
    if wait:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc
    # Its own process group, killed whole below as a scheduler kills a job (W&B's service process included).
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def kill_job(pid):
    """SIGKILL everything the run started, as a scheduler kills a job: its process group and W&B's
    service, which runs in a session of its own and watches the run's pid (--pid)."""
    services = []
    for entry in os.listdir("/proc"):
        try:
            args = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"wandb-core") for a in args) and b"--pid" in args and args[args.index(b"--pid") + 1] == str(pid).encode():
            services.append(int(entry))
    os.killpg(pid, signal.SIGKILL)
    for service in services:
        os.killpg(os.getpgid(service), signal.SIGKILL)  # the service and its system monitor


def saved_iteration(path):
    try:
        return torch.load(path, weights_only=True)["sfd_iteration"]
    except Exception:  # not there yet
        return -1


def test_sigkill_then_resume_loses_nothing(tmp_path):
    small = dict(iterations=ITERATIONS, every_n_iterations=0, n_per_label=2, teacher_steps=2, every_n_train_steps=4)
    killed_dir, straight_dir = tmp_path / "killed", tmp_path / "straight"
    killed_cfg, straight_cfg = short_forget_config(killed_dir, **small), short_forget_config(straight_dir, **small)

    proc = fit(killed_cfg, wait=False)
    deadline, last = time.time() + 300, None
    while time.time() < deadline and proc.poll() is None:
        found = list((killed_dir / "run").rglob("checkpoints/last.ckpt"))
        if found and saved_iteration(found[0]) >= 6:
            last = found[0]
            break
        time.sleep(0.05)
    assert last is not None and proc.poll() is None, "the run ended before it could be killed mid-way"
    kill_job(proc.pid)
    proc.wait()

    at_kill = torch.load(last, weights_only=True)  # written before the kill: complete and loadable
    assert 6 <= at_kill["sfd_iteration"] < ITERATIONS
    fit(killed_cfg, f"--ckpt_path={last}")
    resumed = torch.load(last, weights_only=True)  # same W&B run id, so the same run folder
    assert resumed["sfd_iteration"] == ITERATIONS

    fit(straight_cfg)
    straight = torch.load(next((straight_dir / "run").rglob("checkpoints/last.ckpt")), weights_only=True)
    for key, value in straight["state_dict"].items():
        assert torch.equal(resumed["state_dict"][key], value), key
