"""W&B: offline automatically, and an offline run holds the config, loss terms, images, summary and report table."""

import json
import subprocess
import sys

import pytest
from project import ROOT, short_forget_config, subprocess_env
from wandb_records import read_records

from sfd_lightning.loggers.wandb_logger import wandb_offline


def test_offline_unless_logged_in(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert wandb_offline() is True  # no key, no netrc
    (tmp_path / "netrc").write_text("machine api.wandb.ai\n  login user\n  password abc\n")
    assert wandb_offline() is False
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert wandb_offline() is True
    assert wandb_offline(offline=False) is False


def nested(item):
    return "/".join(item.nested_key) if item.nested_key else item.key


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("wandb")
    # A process of its own, as users run it: W&B's files are complete once it has exited.
    cmd = [
        sys.executable,
        "-m",
        "sfd_lightning",
        "fit",
        "--config",
        str(short_forget_config(tmp_path, iterations=4)),
        "--trainer.log_every_n_steps=1",
        "--trainer.logger.init_args.job_type=sfd-train",
    ]  # a wandb.init option
    proc = subprocess.run(
        cmd, cwd=ROOT, env=subprocess_env(WANDB_MODE="offline"), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = next((tmp_path / "run" / "wandb").glob("offline-run-*/run-*.wandb"))
    history, summary, config, job_types, metrics = [], {}, {}, set(), {}
    for record in read_records(log):
        kind = record.WhichOneof("record_type")
        if kind == "metric":
            metrics[record.metric.name or record.metric.glob_name] = record.metric
        if kind == "run":
            job_types.add(record.run.job_type)
        if kind == "history":
            history.append({nested(i): json.loads(i.value_json) for i in record.history.item})
        elif kind == "summary":
            summary.update({nested(i): json.loads(i.value_json) for i in record.summary.update})
        elif kind in ("config", "run"):
            items = record.config.update if kind == "config" else record.run.config.update
            config.update({nested(i): json.loads(i.value_json) for i in items})
    return dict(
        history=history,
        summary=summary,
        config=config,
        run_dir=log.parent,
        job_types=job_types,
        stderr=proc.stderr,
        metrics=metrics,
    )


def test_wandb_init_options_pass_through_and_known_noise_is_silenced(offline_run):
    assert offline_run["job_types"] == {"sfd-train"}
    assert "manual optimization" not in offline_run["stderr"] and "in eval mode" not in offline_run["stderr"]
    assert "Tip:" not in offline_run["stderr"]


def test_config_is_the_resolved_yaml_one_name_per_option(offline_run):
    config = {k: v for k, v in offline_run["config"].items() if not k.startswith("_")}  # wandb's own: _wandb
    assert config["model.init_args.forget_label"] == 0  # the names of the command line and of sweep specs
    assert config["data.init_args.iterations"] == 4
    assert config["trainer.logger.class_path"] == "sfd_lightning.loggers.SFDWandbLogger"
    assert "alpha" not in config and "forget_label" not in config  # no second copy from the module's hparams
    assert config["config"][0].endswith("short.yaml")  # --config, the file it came from
    assert config["model.init_args.alpha"] == 1.0
    assert {k for k in config if "." not in k} <= {
        "config",
        "seed_everything",
        "ckpt_path",
        "weights_only",
        "optimizer",
        "lr_scheduler",
    }  # LightningCLI's own options


def test_metrics_plotted_against_iterations_with_min_max(offline_run):
    metrics = offline_run["metrics"]
    assert metrics["*"].step_metric == "iteration"
    for family in ("loss/*", "forget/*", "fid/*", "retained/*", "clip/*"):
        summary = metrics[family].summary
        assert metrics[family].step_metric == "iteration" and summary.min and summary.max and summary.last, family
    # (W&B computes the min/max summaries from these definitions when it syncs the run.)


def test_every_row_at_its_iteration(offline_run):
    """Loss rows of iteration i carry step i (not i - 1); evaluations at 2 and 4 sit between the loss rows."""
    rows = [h for h in offline_run["history"] if "iteration" in h]
    assert len(rows) == len([h for h in offline_run["history"] if "_step" in h])  # every row
    losses = [h for h in rows if "loss/generator_remain" in h]
    assert all(h["trainer/global_step"] == h["iteration"] for h in losses)
    order = [
        ("eval" if "forget/accuracy" in h else "loss" if "loss/generator_remain" in h else None, h["iteration"])
        for h in rows
    ]
    order = [o for o in order if o[0]]
    assert [it for _, it in order] == sorted(it for _, it in order)  # no row behind an earlier one
    assert [it for kind, it in order if kind == "loss"] == [1, 2, 3, 4]
    assert [it for kind, it in order if kind == "eval"][:2] == [2, 4]


def test_every_loss_term_logged_against_iterations(offline_run):
    rows = [h for h in offline_run["history"] if "loss/generator_remain" in h]
    for key in (
        "loss/fake_score_remain",
        "loss/fake_score_forget",
        "loss/generator_remain",
        "loss/generator_forget",
        "nonfinite/skipped",
        "iteration",
    ):
        assert all(key in h for h in rows), key
    assert [h["iteration"] for h in rows] == [1.0, 2.0, 3.0, 4.0]


def test_metrics_images_and_summary(offline_run):
    history, summary = offline_run["history"], offline_run["summary"]
    assert any("forget/accuracy" in h for h in history) and any("fid/teacher" in h for h in history)
    grids = [h for h in history if h.get("samples/grid/_type") == "images/separated"]
    assert all(h["iteration"] in (2, 4) for h in grids)
    assert grids and list(offline_run["run_dir"].glob("files/media/images/samples/grid_*.png"))
    for key in ("final/forget/accuracy", "final/retained/accuracy", "final/fid/generator", "final/fid/teacher"):
        assert key in summary, key
    assert summary["report/_type"] == "table-file"


UNREACHABLE_SERVER_RUN = """
import sys
from sfd_lightning.loggers import SFDWandbLogger

logger = SFDWandbLogger(project="p", save_dir=sys.argv[1], init_timeout=2, log_model=True)
logger.log_metrics({"loss/total": 1.5}, step=1)
logger.finalize("success")
print("RESULT", "offline" if logger._offline else "online", "artifacts" if logger._log_model else "no-artifacts")
"""


def closed_loopback_port() -> int:
    """A loopback port nothing listens on (bound, then released): connections to it are refused at once."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # ~18 s: it waits out the 15 s reachability check against a closed port
def test_logged_in_without_a_reachable_server_goes_offline_in_one_line(tmp_path):
    url = f"http://127.0.0.1:{closed_loopback_port()}"
    env = subprocess_env(
        WANDB_API_KEY="0123456789abcdef0123456789abcdef01234567", WANDB_BASE_URL=url, NETRC=str(tmp_path / "netrc")
    )
    env.pop("WANDB_MODE", None)
    proc = subprocess.run(
        [sys.executable, "-c", UNREACHABLE_SERVER_RUN, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RESULT offline no-artifacts" in proc.stdout.splitlines()
    notice = [line for line in proc.stderr.splitlines() if line.startswith("W&B: cannot reach")]
    assert (
        len(notice) == 1
        and notice[0].startswith(f"W&B: cannot reach {url} within 2 s (")
        and "Traceback" not in proc.stderr
    )
    run_dir = next((tmp_path / "wandb").glob("offline-run-*"))
    assert notice[0].endswith(f"logging offline to {run_dir} (upload it later with `wandb sync {run_dir}`)")
    history = [r for r in read_records(next(run_dir.glob("run-*.wandb"))) if r.WhichOneof("record_type") == "history"]
    assert any(
        nested(item) == "loss/total" and json.loads(item.value_json) == 1.5 for r in history for item in r.history.item
    )
