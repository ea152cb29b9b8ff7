"""Bad input: one line naming the field, exit code 2, before any training starts."""
import pytest

from sfd_lightning.cli import main

CONFIG = "configs/digits_forget.yaml"


def run(capsys, monkeypatch, root, *args):
    monkeypatch.chdir(root)
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--config", CONFIG, *args])
    err = capsys.readouterr().err.strip().splitlines()
    return exit_.value.code, err[-1] if err else ""


@pytest.mark.parametrize("args, field", [
    (["--model.forget_label=10"], "model.forget_label"),
    (["--model.forget_label=3", "--model.override_label=3"], "model.override_label"),
    (["--model.override_label=11"], "model.override_label"),
    (["--model.teacher_ckpt=does/not/exist.pt"], "model.teacher_ckpt"),
    (["--model.bogus_key=1"], "model.bogus_key"),
    (["--trainer.bogus_key=1"], "trainer.bogus_key"),
    (["--data.init_args.batch_size=abc"], "data.batch_size"),
    (["--model.init_args.teacher.init_args.net.init_args.ch=32"], "model.teacher_ckpt"),
])
def test_bad_input_is_one_line_naming_the_field(capsys, monkeypatch, args, field):
    from project import ROOT

    code, line = run(capsys, monkeypatch, ROOT, *args)
    assert code == 2
    assert line.startswith(f"sfd: error: {field}:"), line


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
