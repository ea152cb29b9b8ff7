"""``--wandb-run``: an evaluation's numbers join the training run's W&B page; without a reachable server they go to an
offline copy of that run, and whatever W&B does, the command that wrote its results succeeds."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from project import ASSETS, ROOT, subprocess_env
from test_wandb_logger import closed_loopback_port
from wandb_records import run_summary

from sfd_lightning.data import DigitsDataset

CLASSIFIER = str(ASSETS / "digits_classifier.pt")


@pytest.fixture
def run_and_samples(tmp_path):
    """(a checkpoint in SFDWandbLogger's run layout with W&B id abc123, 40 labelled digits as an .npz)."""
    ckpt = tmp_path / "runs" / "sfd-lightning" / "abc123" / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    torch.save({"logger_version": "abc123", "state_dict": {}}, ckpt)
    data = DigitsDataset("all")
    samples = tmp_path / "zero_s.npz"
    np.savez(samples, images=data.images[:40].numpy(), labels=data.labels[:40].numpy())
    return ckpt, samples


def eval_args(ckpt, samples, out):
    return [
        "eval",
        str(samples),
        "--metrics",
        "forget",
        "--forget-label",
        "0",
        "--classifier",
        CLASSIFIER,
        "--device",
        "cpu",
        "--out",
        str(out),
        "--wandb-run",
        str(ckpt),
    ]


# wandb's own resume-status query retries for ~10 s before the offline fallback can start
@pytest.mark.slow
def test_eval_online_without_a_server_adds_its_numbers_to_an_offline_copy_of_the_run(run_and_samples, tmp_path):
    """The online start fails (no server); the offline start with the same run ID used to be refused ("run ID abc123
    is in use": wandb-core keeps the failed start's stream) and sfd eval exited 1 after writing its metrics."""
    ckpt, samples = run_and_samples
    out = tmp_path / "metrics.json"
    env = subprocess_env(
        WANDB_MODE="online",
        WANDB_API_KEY="0" * 40,
        NETRC=str(tmp_path / "netrc"),
        WANDB_BASE_URL=f"http://127.0.0.1:{closed_loopback_port()}",
    )
    script = (
        "import sys; import sfd_lightning.loggers.wandb_run as w; w.INIT_TIMEOUT = 2; "
        "from sfd_lightning.cli import main; main(sys.argv[1:])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, *eval_args(ckpt, samples, out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and json.loads(out.read_text())["forget/accuracy"] > 0.9
    notice = [line for line in proc.stderr.splitlines() if line.startswith("W&B: cannot reach")]
    assert len(notice) == 1 and "logging offline to" in notice[0]
    assert "added to W&B run abc123 (offline, under" in proc.stdout
    summary = run_summary(ckpt.parents[3], "abc123", wanted="eval/zero_s/forget/accuracy")
    assert summary["eval/zero_s/forget/accuracy"] == json.loads(out.read_text())["forget/accuracy"]


def test_a_wandb_failure_after_the_metrics_are_written_is_one_line_and_exit_0(
    run_and_samples, tmp_path, run_cli, capsys, monkeypatch
):
    import wandb

    def refused(**kwargs):
        raise wandb.errors.UsageError("run ID abc123 is in use")

    monkeypatch.setattr(wandb, "init", refused)
    monkeypatch.setenv("WANDB_MODE", "offline")
    ckpt, samples = run_and_samples
    out = tmp_path / "metrics.json"
    assert run_cli(eval_args(ckpt, samples, out)) == 0
    err = capsys.readouterr().err
    assert json.loads(out.read_text())["forget/accuracy"] > 0.9
    numbers = [
        v for v in json.loads(out.read_text()).values() if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    lines = [line for line in err.splitlines() if line.startswith("W&B")]
    assert lines == [
        f"W&B: run abc123 did not receive the {len(numbers)} numbers "
        f"(UsageError: run ID abc123 is in use); they are in {out}"
    ]
