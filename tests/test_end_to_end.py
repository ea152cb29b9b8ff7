"""A short `sfd fit` of the digits default writes a checkpoint that `sfd sample` reads."""
import numpy as np
import pytest
import yaml

from conftest import ROOT
from sfd_lightning.cli import main


@pytest.fixture
def short_config(tmp_path):
    config = yaml.safe_load((ROOT / "configs" / "digits_forget.yaml").read_text())
    config["trainer"]["default_root_dir"] = str(tmp_path / "run")
    config["trainer"]["logger"]["init_args"]["save_dir"] = str(tmp_path / "run")
    config["data"]["init_args"]["iterations"] = 3
    for cb in config["trainer"]["callbacks"]:
        args = cb.get("init_args", {})
        for key, value in (("n_per_label", 4), ("every_n_iterations", 2), ("teacher_steps", 3), ("batch_size", 16)):
            if key in args:
                args[key] = value
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


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
