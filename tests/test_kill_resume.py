"""A run killed with SIGKILL, or stopped by SIGTERM/SIGINT, resumes from its last checkpoint and ends where an
uninterrupted run ends; a signal's stop saves where it stopped, says so and exits non-zero."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from project import ROOT, short_forget_config, subprocess_env

ITERATIONS = 30


def fit(config, *extra, wait=True, stderr=subprocess.DEVNULL, **env_vars):
    cmd = [sys.executable, "-m", "sfd_lightning", "fit", "--config", str(config), *extra]
    env = subprocess_env(WANDB_MODE="offline", OMP_NUM_THREADS="1", **env_vars)  # one thread: runs compare exactly
    if wait:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc
    # Its own process group, killed whole below as a scheduler kills a job (W&B's service process included).
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)


def kill_job(pid):
    """SIGKILL everything the run started, as a scheduler kills a job: its process group and W&B's
    service, which runs in a session of its own and watches the run's pid (--pid)."""
    services = []
    for entry in os.listdir("/proc"):
        try:
            args = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if (
            any(a.endswith(b"wandb-core") for a in args)
            and b"--pid" in args
            and args[args.index(b"--pid") + 1] == str(pid).encode()
        ):
            services.append(int(entry))
    os.killpg(pid, signal.SIGKILL)
    for service in services:
        os.killpg(os.getpgid(service), signal.SIGKILL)  # the service and its system monitor


def saved_iteration(path):
    try:
        return torch.load(path, weights_only=True)["sfd_iteration"]
    except Exception:  # not there yet
        return -1


SMALL = dict(iterations=ITERATIONS, every_n_iterations=0, n_per_label=2, teacher_steps=2, every_n_train_steps=4)


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """The uninterrupted run's final checkpoint, shared by the tests below."""
    folder = tmp_path_factory.mktemp("straight")
    fit(short_forget_config(folder, **SMALL))
    return torch.load(next((folder / "run").rglob("checkpoints/last.ckpt")), weights_only=True)


def start_and_wait(folder, stderr=subprocess.DEVNULL, **env_vars):
    """Start a run; return (process, its last.ckpt) once a checkpoint of iteration >= 6 exists."""
    proc = fit(short_forget_config(folder, **SMALL), wait=False, stderr=stderr, **env_vars)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        found = list((folder / "run").rglob("checkpoints/last.ckpt"))
        if found and saved_iteration(found[0]) >= 6:
            return proc, found[0]
        time.sleep(0.05)
    raise AssertionError("the run ended before it could be stopped mid-way")


def resume_and_compare(folder, last, straight):
    fit(short_forget_config(folder, **SMALL), f"--ckpt_path={last}")
    resumed = torch.load(last, weights_only=True)  # same W&B run id, so the same run folder
    assert resumed["sfd_iteration"] == ITERATIONS
    for key, value in straight["state_dict"].items():
        assert torch.equal(resumed["state_dict"][key], value), key


@pytest.mark.slow
def test_sigkill_then_resume_loses_nothing(tmp_path, straight_run):
    proc, last = start_and_wait(tmp_path)
    kill_job(proc.pid)
    proc.wait()
    at_kill = torch.load(last, weights_only=True)  # written before the kill: complete and loadable
    assert 6 <= at_kill["sfd_iteration"] < ITERATIONS
    resume_and_compare(tmp_path, last, straight_run)


@pytest.mark.parametrize(
    "signum, status",
    [
        pytest.param(signal.SIGTERM, 143, id="SIGTERM", marks=pytest.mark.slow),  # ~2 min: two runs and a resume
        pytest.param(signal.SIGINT, 130, id="SIGINT", marks=pytest.mark.slow),  # SIGTERM's path, entered by Ctrl+C
    ],
)
def test_a_signal_saves_where_it_stopped_and_exits_non_zero(tmp_path, straight_run, signum, status):
    """A scheduler's SIGTERM (or Ctrl+C) mid-run: last.ckpt at the iteration reached, not the last periodic one;
    exit 128 + signal; the report and the W&B summary say interrupted; resuming ends as the straight run."""
    from wandb_records import read_records

    log = tmp_path / "stderr.txt"
    with open(log, "w") as stderr:
        proc, last = start_and_wait(tmp_path, stderr=stderr)
        periodic = saved_iteration(last)
        time.sleep(1.0)  # a few iterations past the periodic checkpoint
        proc.send_signal(signum)
        assert proc.wait(timeout=300) == status
    name = signal.Signals(signum).name
    said = re.search(rf"interrupted by {name} at iteration (\d+); saved (\S+)", log.read_text())
    assert said, log.read_text()[-2000:]
    stopped = int(said.group(1))
    assert said.group(2) == str(last) and saved_iteration(last) == stopped and periodic <= stopped < ITERATIONS
    report = next(tmp_path.rglob("report.md")).read_text()
    assert f"INTERRUPTED by {name} at iteration {stopped}" in report
    summary = {
        item.key: item.value_json
        for record in read_records(next(tmp_path.rglob("run-*.wandb")))
        if record.HasField("summary")
        for item in record.summary.update
    }
    assert summary.get("interrupted") == "true" and summary.get("interrupted/iteration") == str(stopped)
    if signum == signal.SIGTERM:
        resume_and_compare(tmp_path, last, straight_run)


@pytest.mark.slow
def test_slurm_requeue_saves_at_an_iteration_boundary(tmp_path):
    """Under SLURM, Lightning's auto-requeue saves hpc_ckpt_<n>.ckpt on SIGUSR1; held to the iteration's end,
    the checkpoint holds whole iterations (two optimiser steps each), and training goes on until SIGTERM."""
    slurm = dict(
        SLURM_NTASKS="1",
        SLURM_NTASKS_PER_NODE="1",
        SLURM_PROCID="0",
        SLURM_LOCALID="0",
        SLURM_NODEID="0",
        SLURM_JOB_ID="4242",
        SLURM_JOB_NAME="sfd-test",
    )
    proc, last = start_and_wait(tmp_path, **slurm)
    proc.send_signal(signal.SIGUSR1)
    deadline, hpc = time.time() + 120, []
    while time.time() < deadline and not hpc and proc.poll() is None:
        hpc = list((tmp_path / "run").glob("hpc_ckpt_*.ckpt"))
        time.sleep(0.05)
    assert hpc, "no requeue checkpoint"
    time.sleep(0.5)  # still training after the requeue signal
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=300) == 143
    saved = torch.load(hpc[0], weights_only=True)
    assert saved["sfd_iteration"] >= 6 and saved["global_step"] == 2 * saved["sfd_iteration"]
