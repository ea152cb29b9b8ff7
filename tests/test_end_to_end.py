"""A short `sfd fit` of the digits default writes a checkpoint that `sfd sample` reads."""
import numpy as np
import pytest

from conftest import ROOT, short_forget_config
from sfd_lightning.cli import main


@pytest.fixture
def short_config(tmp_path):
    return short_forget_config(tmp_path)


def test_fit_then_sample(short_config, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    main(["fit", "--config", str(short_config)])
    printed = capsys.readouterr().out
    assert "forget-class accuracy" in printed and "FID retained classes, teacher sampler" in printed
    ckpts = sorted((tmp_path / "run").rglob("last.ckpt"))
    assert ckpts, "no checkpoint written"
    reports = list((tmp_path / "run").rglob("report.json"))
    assert reports and list((tmp_path / "run").rglob("grids/final.png"))

    out = tmp_path / "samples.npz"
    main(["sample", "--ckpt", str(ckpts[0]), "--labels", "0-9", "--n-per-label", "3", "--out", str(out)])
    data = np.load(out)
    assert data["images"].shape == (30, 1, 8, 8) and data["images"].dtype == np.float32
    assert data["images"].min() >= -1 and data["images"].max() <= 1
    assert data["labels"].tolist() == [c for c in range(10) for _ in range(3)]
    assert out.with_suffix(".png").exists()


def test_sample_teacher_asset(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "teacher.npz"
    main(["sample", "--ckpt", "assets/digits_teacher.pt", "--steps", "4", "--labels", "2,5", "--n-per-label", "2", "--out", str(out)])
    data = np.load(out)
    assert data["images"].shape == (4, 1, 8, 8) and data["labels"].tolist() == [2, 2, 5, 5]
