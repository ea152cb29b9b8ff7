"""Resuming keeps the checkpoint's model settings, so a config asking for others is refused, naming them; a finished
run is said to be finished. Both before anything loads."""

import pytest
import torch

from sfd_lightning.cli import main
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.resume import changed_model_settings, check_unfinished


def resume(capsys, monkeypatch, ckpt, *args, verb="fit", config=None):
    from project import ROOT

    config = config or next(p / "short.yaml" for p in ckpt.parents if (p / "short.yaml").exists())  # the run's own
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        main([verb, "--config", str(config), "--ckpt_path", str(ckpt), *args])
    return exit_.value.code, capsys.readouterr().err.strip().splitlines()[-1]


def test_other_model_settings_on_resume_are_refused_naming_them(short_digits_run, capsys, monkeypatch):
    code, line = resume(
        capsys,
        monkeypatch,
        short_digits_run,
        "--model.forget_label=3",
        "--model.override_label=8",
        "--trainer.max_epochs=2",
    )
    assert code == 2 and line.startswith("sfd: error: ckpt_path:"), line
    assert (
        "model.init_args.forget_label=3 (checkpoint: 0)" in line
        and "model.init_args.override_label=8 (checkpoint: 1)" in line
    )


LORA = "{rank: 16, alpha: None, target_modules: None, base_dtype: None}"


def test_lora_on_a_full_fine_tuning_checkpoint_is_refused_naming_lora(short_digits_run, capsys, monkeypatch):
    code, line = resume(
        capsys, monkeypatch, short_digits_run, "--model.init_args.lora.rank=16", "--trainer.max_epochs=2"
    )
    assert code == 2 and line.startswith("sfd: error: ckpt_path:"), line
    assert f"model.init_args.lora={LORA} (checkpoint: None)" in line


@pytest.mark.parametrize("verb", ["fit", "validate"])
def test_the_lora_overlay_on_a_full_checkpoint_names_lora_beside_the_rates(short_digits_run, capsys, monkeypatch, verb):
    from project import ROOT

    overlay = ROOT / "configs" / "overlays" / "digits_lora.yaml"
    config = next(p / "short.yaml" for p in short_digits_run.parents if (p / "short.yaml").exists())
    code, line = resume(
        capsys,
        monkeypatch,
        short_digits_run,
        "--config",
        str(overlay),
        "--trainer.max_epochs=2",
        verb=verb,
        config=config,
    )
    assert code == 2 and f"model.init_args.lora={LORA} (checkpoint: None)" in line, line
    assert "fake_score_optimizer.init_args.lr=0.003" in line


@pytest.mark.parametrize("verb", ["fit", "validate"])
def test_full_fine_tuning_on_a_lora_checkpoint_is_refused_naming_lora(
    short_digits_run, capsys, monkeypatch, tmp_path, verb
):
    ckpt = torch.load(short_digits_run, map_location="cpu", weights_only=False)
    ckpt["hyper_parameters"]["lora"] = {"rank": 16, "alpha": None, "target_modules": None, "base_dtype": None}
    torch.save(ckpt, tmp_path / "lora.ckpt")  # what a LoRA run's hyper-parameters hold; read before any weight
    config = next(p / "short.yaml" for p in short_digits_run.parents if (p / "short.yaml").exists())
    code, line = resume(
        capsys,
        monkeypatch,
        tmp_path / "lora.ckpt",
        "--model.init_args.lora=null",
        "--trainer.max_epochs=2",
        verb=verb,
        config=config,
    )
    assert code == 2 and line.startswith("sfd: error: ckpt_path:"), line
    assert f"model.init_args.lora=None (checkpoint: {LORA})" in line


def test_resuming_a_finished_run_says_so(short_digits_run, capsys, monkeypatch):
    code, line = resume(capsys, monkeypatch, short_digits_run)
    assert code == 2 and "is a finished run (3 iterations, trainer.max_epochs=1 reached)" in line, line


def test_only_settings_both_sides_hold_and_differ_count():
    hparams = {
        "_class_path": "pkg.M",
        "_instantiator": "x",
        "alpha": 1.2,
        "betas": [0.0, 0.999],
        "new_in_ckpt": 1,
        "teacher": {"class_path": "pkg.T", "init_args": {"ch": 16}},
    }
    same = {
        "class_path": "pkg.M",
        "init_args": {
            "alpha": 1.2,
            "betas": (0.0, 0.999),
            "only_in_config": 5,
            "teacher": {"class_path": "pkg.T", "init_args": {"ch": 16}},
        },
    }
    assert changed_model_settings(same, hparams) == []
    other = {
        "class_path": "pkg.N",
        "init_args": {"alpha": 1.0, "teacher": {"class_path": "pkg.T", "init_args": {"ch": 32}}},
    }
    assert changed_model_settings(other, hparams) == [
        "model.class_path='pkg.N' (checkpoint: 'pkg.M')",
        "model.init_args.alpha=1.0 (checkpoint: 1.2)",
        "model.init_args.teacher.init_args.ch=32 (checkpoint: 16)",
    ]


def test_a_group_of_settings_against_none_is_one_difference_either_way():
    lora = {"rank": 16, "alpha": None}
    assert changed_model_settings({"init_args": {"lora": None}}, {"lora": lora}) == [
        "model.init_args.lora=None (checkpoint: {rank: 16, alpha: None})"
    ]
    assert changed_model_settings({"init_args": {"lora": lora}}, {"lora": None}) == [
        "model.init_args.lora={rank: 16, alpha: None} (checkpoint: None)"
    ]
    assert changed_model_settings({"init_args": {"lora": {"rank": 4}}}, {"lora": lora}) == [
        "model.init_args.lora.rank=4 (checkpoint: 16)"
    ]


def test_a_run_stopped_mid_epoch_or_before_max_steps_resumes():
    mid_epoch = {"sfd_iteration": 50, "loops": {"fit_loop": {"epoch_progress": {"current": {"completed": 0}}}}}
    check_unfinished(mid_epoch, max_epochs=1, max_steps=-1, path="x")
    check_unfinished(mid_epoch, max_epochs=None, max_steps=60, path="x")
    with pytest.raises(ConfigError, match="trainer.max_steps=50 reached"):
        check_unfinished(mid_epoch, max_epochs=None, max_steps=50, path="x")
