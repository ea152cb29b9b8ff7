"""The sfd command follows LightningCLI's conventions: its help names every subcommand, the environment sets options."""

import pytest
import torch
import yaml
from project import ROOT

from sfd_lightning.cli import main


def run(run_cli, capsys, *args):
    assert run_cli(args) == 0
    return capsys.readouterr().out


def test_help_names_every_subcommand(run_cli, capsys):
    out = run(run_cli, capsys, "--help")
    assert all(f"sfd {name}" in " ".join(out.split()) for name in ("fit|validate|predict", "sample", "eval", "sweep"))
    assert "{fit,validate,predict}" in out  # no `test`: there is no held-out data to test on
    assert run_cli(["test", "--config", "configs/digits_forget_2stage.yaml"]) == 2


def test_options_come_from_the_environment_and_the_command_line_wins(run_cli, capsys, monkeypatch):
    monkeypatch.setenv("PL_FIT__TRAINER__MIN_EPOCHS", "3")
    monkeypatch.setenv("PL_FIT__TRAINER__MAX_STEPS", "7")
    config = yaml.safe_load(
        run(
            run_cli,
            capsys,
            "fit",
            "--config",
            "configs/digits_forget_2stage.yaml",
            "--trainer.max_steps=9",
            "--print_config",
        )
    )
    assert config["trainer"]["min_epochs"] == 3 and config["trainer"]["max_steps"] == 9


@pytest.mark.parametrize("explicit", [False, True])
def test_default_root_dir_moves_the_run_unless_the_logger_has_its_own_folder(monkeypatch, tmp_path, explicit):
    import functools

    from lightning.pytorch import Trainer

    from sfd_lightning.cli import SFDLightningCLI

    @functools.wraps(Trainer.fit)  # the CLI builds its options from fit's signature
    def fit(self, *args, **kwargs):
        pass

    monkeypatch.setattr(Trainer, "fit", fit)
    monkeypatch.chdir(ROOT)
    args = ["fit", "--config", "configs/digits_forget_2stage.yaml", f"--trainer.default_root_dir={tmp_path / 'mine'}"]
    if explicit:
        args.append(f"--trainer.logger.init_args.save_dir={tmp_path / 'logs'}")
    cli = SFDLightningCLI(args=args)
    assert cli.trainer.logger.save_dir == str(tmp_path / ("logs" if explicit else "mine"))


def test_validate_and_predict_use_a_checkpoint(capsys, monkeypatch, tmp_path):
    """`sfd validate --ckpt_path` runs the metric callbacks and the report on the trained weights; `sfd predict`
    writes the samples `sfd sample` writes for the same seed, through Lightning's predict loop."""
    import json

    import numpy as np
    from project import short_forget_config

    config = short_forget_config(tmp_path, iterations=3, every_n_iterations=0, n_per_label=2, teacher_steps=2)
    common = ["--config", str(config), "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path / 'out'}"]
    monkeypatch.chdir(ROOT)
    # sfd sample keeps the process's thread count; the config's TorchThreadsCallback yields to OMP_NUM_THREADS, so
    # predict runs on the same count (float sums depend on it)
    monkeypatch.setenv("OMP_NUM_THREADS", str(torch.get_num_threads()))
    main(["fit", *common])
    last = next((tmp_path / "out").rglob("last.ckpt"))
    (tmp_path / "out" / "report.json").unlink()
    main(["validate", *common, f"--ckpt_path={last}"])
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["iterations"] == 3 and 0 <= report["forget/accuracy"] <= 1 and report["fid/generator"] > 0
    assert "FID retained classes, one-step EMA generator" in capsys.readouterr().out
    main(
        [
            "predict",
            *common,
            f"--ckpt_path={last}",
            "--data.init_args.predict_n_per_label=3",
            "--data.init_args.batch_size=8",
        ]
    )
    predicted = np.load(tmp_path / "out" / "samples.npz")
    assert predicted["images"].shape == (30, 1, 8, 8) and (tmp_path / "out" / "samples.png").is_file()
    main(
        [
            "sample",
            "--ckpt",
            str(last),
            "--labels",
            "0-9",
            "--n-per-label",
            "3",
            "--batch-size",
            "8",
            "--seed",
            "0",
            "--out",
            str(tmp_path / "sampled.npz"),
        ]
    )
    sampled = np.load(tmp_path / "sampled.npz")
    assert np.array_equal(predicted["labels"], sampled["labels"]) and np.array_equal(
        predicted["images"], sampled["images"]
    )


def test_terminal_bar_shows_losses_and_learning_rates_in_full(monkeypatch, tmp_path):
    from lightning.pytorch.callbacks import RichProgressBar, TQDMProgressBar

    from sfd_lightning.callbacks.progress_bar import SFDProgressBar
    from sfd_lightning.cli import SFDLightningCLI

    monkeypatch.chdir(ROOT)
    base = [
        "--config",
        "configs/digits_forget_2stage.yaml",
        f"--trainer.default_root_dir={tmp_path}",
        "--trainer.logger=false",
    ]
    bar = SFDLightningCLI(args=base, run=False).trainer.progress_bar_callback
    assert isinstance(bar, SFDProgressBar) and bar.theme.metrics_text_delimiter == "\n"  # a metric a line, uncut
    monkeypatch.setattr(
        RichProgressBar,
        "get_metrics",
        lambda *_: {"lr/generator": 1e-5, "loss/fake_score_remain": 0.123456, "v_num": 3},
    )
    assert bar.get_metrics(None, None) == {"lr/generator": "1.00e-05", "loss/fake_score_remain": "0.1235"}
    chosen = SFDLightningCLI(args=base + ["--trainer.callbacks+=TQDMProgressBar"], run=False).trainer
    assert isinstance(chosen.progress_bar_callback, TQDMProgressBar)  # the config's own bar is kept
    off = SFDLightningCLI(args=base + ["--trainer.enable_progress_bar=false"], run=False).trainer
    assert off.progress_bar_callback is None
