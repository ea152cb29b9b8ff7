"""Bad input: one line naming the field, exit code 2, before any training starts."""

import pytest

from sfd_lightning.cli import main

CONFIG = "configs/digits_forget_2stage.yaml"


def run(capsys, monkeypatch, root, *args):
    monkeypatch.chdir(root)
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--config", CONFIG, *args])
    err = capsys.readouterr().err.strip().splitlines()
    return exit_.value.code, err[-1] if err else ""


@pytest.mark.parametrize(
    "args, field",
    [
        (["--model.forget_label=10"], "model.forget_label"),
        (["--model.forget_label=3", "--model.override_label=3"], "model.override_label"),
        (["--model.override_label=11"], "model.override_label"),
        (["--model.forget_label=[0,3,0]"], "model.forget_label"),
        (["--model.forget_label=[]"], "model.forget_label"),
        (["--model.forget_label=[0,3]", "--model.override_label=[1,0]"], "model.override_label"),
        (["--model.forget_label=[0,3]", "--model.override_label=[1,8,6]"], "model.override_label"),
        (["--model.init_args.init_ckpt=null", "--model.init_args.previous=does/not/exist"], "model.previous"),
        (["--model.init_args.previous=assets/digits_distilled.pt"], "model.previous"),
        (["--model.teacher_ckpt=does/not/exist.pt"], "model.teacher_ckpt"),
        (["--model.bogus_key=1"], "model.bogus_key"),
        (["--trainer.bogus_key=1"], "trainer.bogus_key"),
        (["--data.init_args.batch_size=abc"], "data.batch_size"),
        (["--model.grad_clip_value=-1"], "model.grad_clip_value"),
        (["--model.init_args.teacher.init_args.net.init_args.ch=32"], "model.teacher_ckpt"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(capsys, monkeypatch, args, field):
    from project import ROOT

    code, line = run(capsys, monkeypatch, ROOT, *args)
    assert code == 2
    assert line.startswith(f"sfd: error: {field}:"), line


def test_noise_of_another_shape_than_the_teacher_is_refused_before_training(capsys, monkeypatch, tmp_path):
    """A data shape the teacher's network cannot take fails at setup naming the field, not inside the UNet."""
    from project import ROOT

    code, line = run(
        capsys,
        monkeypatch,
        ROOT,
        "--data.init_args.shape=[1,9,9]",
        "--trainer.logger=false",
        f"--trainer.default_root_dir={tmp_path}",
    )
    assert code == 2
    assert line == (
        "sfd: error: data.init_args.shape: is [1, 9, 9] but the teacher's network samples [1, 8, 8] "
        "(channels, height, width); set it to [1, 8, 8]"
    ), line
    assert not list(tmp_path.rglob("*.ckpt"))


def test_corrupt_checkpoint(capsys, monkeypatch, tmp_path):
    from project import ROOT

    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"this is not a checkpoint")
    code, line = run(capsys, monkeypatch, ROOT, f"--model.teacher_ckpt={bad}")
    assert code == 2 and line.startswith("sfd: error: model.teacher_ckpt: cannot read checkpoint"), line


def test_architecture_mismatch_names_the_differing_weight(capsys, monkeypatch):
    from project import ROOT

    code, line = run(capsys, monkeypatch, ROOT, "--model.init_args.teacher.init_args.net.init_args.ch=32")
    assert "does not match the architecture in model.teacher" in line and "shape" in line


def test_sample_rejects_bad_labels(capsys, monkeypatch):
    from project import ROOT

    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        main(["sample", "--ckpt", "assets/digits_teacher.pt", "--labels", "0-12", "--n-per-label", "1", "--steps", "2"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().startswith("sfd: error: --labels:")


@pytest.mark.parametrize("content", [None, b"not a checkpoint"], ids=["missing", "corrupt"])
def test_bad_resume_checkpoint(capsys, monkeypatch, tmp_path, content):
    from project import ROOT

    path = tmp_path / "last.ckpt"
    if content is not None:
        path.write_bytes(content)
    code, line = run(capsys, monkeypatch, ROOT, f"--ckpt_path={path}")
    assert code == 2 and line.startswith("sfd: error: ckpt_path:")


def test_a_teacher_with_nan_weights_is_refused_at_load(capsys, monkeypatch, tmp_path):
    import torch
    from project import ASSETS, ROOT

    asset = torch.load(ASSETS / "digits_teacher.pt", weights_only=True)
    name = next(k for k, v in asset["state_dict"].items() if v.is_floating_point())
    asset["state_dict"][name].view(-1)[0] = float("nan")
    torch.save(asset, tmp_path / "nan_teacher.pt")
    code, line = run(capsys, monkeypatch, ROOT, f"--model.teacher_ckpt={tmp_path / 'nan_teacher.pt'}")
    assert code == 2 and line.startswith("sfd: error: model.teacher_ckpt:"), line
    assert f"holds 1 non-finite value in {name}" in line


def run_sample(capsys, monkeypatch, *args):
    """``sfd sample`` on the digits teacher with ``args``: (exit code, stderr lines)."""
    from project import ROOT

    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        main(["sample", "--ckpt", "assets/digits_teacher.pt", "--steps", "2", "--n-per-label", "2", *args])
    return exit_.value.code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--labels", "5-2"], "--labels: the range '5-2' is empty: its start 5 is above its end 2"),
        (["--labels", "1,7-3"], "--labels: the range '7-3' is empty"),
        (["--cfg-scale", "nan"], "--cfg-scale: must be a finite number, got nan"),
        (["--cfg-scale=-inf"], "--cfg-scale: must be a finite number, got -inf"),
        (["--batch-size", "0"], "--batch-size: must be >= 1, got 0"),
        (
            ["--labels", "0-100000000000"],
            "--labels: the range '0-100000000000' is outside 0..99999",
        ),  # no 1e11-long list
    ],
)
def test_sample_bad_options_are_one_line(capsys, monkeypatch, tmp_path, args, message):
    code, err = run_sample(capsys, monkeypatch, "--out", str(tmp_path / "s.npz"), *args)
    assert code == 2 and len(err) == 1 and err[0].startswith(f"sfd: error: {message}"), err
    assert not (tmp_path / "s.npz").exists()


def test_sample_refuses_more_images_than_memory_holds_before_allocating(capsys, monkeypatch, tmp_path):
    import torch

    import sfd_lightning.sample.main as sample

    def never(*args, **kwargs):
        raise AssertionError("the labels tensor was built (8 GB here) before the request was checked")

    monkeypatch.setattr(sample, "available_bytes", lambda: 10**9)
    monkeypatch.setattr(torch.Tensor, "repeat_interleave", never)
    code, err = run_sample(
        capsys, monkeypatch, "--labels", "0-9", "--n-per-label", "100000000", "--out", str(tmp_path / "s.npz")
    )
    # 10 labels x 1e8 images x (1, 8, 8) float32, held three times: 768 GB; 1 GB holds 1e9 / 768 bytes = 1,302,083
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("sfd: error: --n-per-label: 1,000,000,000 images of shape (1, 8, 8) need about 768 GB")
    assert "use at most 130,208 per label" in err[0]


def test_sample_of_a_nan_model_stops_in_one_line_and_writes_nothing(capsys, monkeypatch, tmp_path):
    import torch
    from project import ROOT

    asset = torch.load(ROOT / "assets" / "digits_teacher.pt", weights_only=True)
    # finite weights (NaN ones are refused when loaded) whose activations overflow to inf, then NaN
    asset["state_dict"] = {
        k: v.float().fill_(1e30) if v.is_floating_point() else v for k, v in asset["state_dict"].items()
    }
    torch.save(asset, tmp_path / "nan_teacher.pt")
    out = tmp_path / "s.npz"
    code, err = run_sample(
        capsys, monkeypatch, "--ckpt", str(tmp_path / "nan_teacher.pt"), "--labels", "0-9", "--out", str(out)
    )
    assert code == 2 and not any("Traceback" in line for line in err)
    assert err[-1].startswith(
        "sfd: error: --ckpt: 20 of 20 images of block 0 are not finite (NaN or inf), so nothing is written"
    )
    assert not out.exists() and not out.with_suffix(".png").exists()
