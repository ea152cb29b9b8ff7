"""A short `sfd fit` of the digits default writes a checkpoint that `sfd sample` reads."""

import numpy as np
import pytest
from project import ROOT, short_forget_config

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
    main(
        [
            "sample",
            "--ckpt",
            "assets/digits_teacher.pt",
            "--steps",
            "4",
            "--labels",
            "2,5",
            "--n-per-label",
            "2",
            "--out",
            str(out),
        ]
    )
    data = np.load(out)
    assert data["images"].shape == (4, 1, 8, 8) and data["labels"].tolist() == [2, 2, 5, 5]


@pytest.mark.slow  # torchrun and two processes, ~30 s
def test_sampling_split_across_two_processes_matches_one(tmp_path):
    """torchrun with two processes writes the same samples as one process (blocks split by rank)."""
    import subprocess
    import sys

    from project import subprocess_env

    args = [
        "sample",
        "--ckpt",
        "assets/digits_teacher.pt",
        "--steps",
        "2",
        "--labels",
        "0-9",
        "--n-per-label",
        "3",
        "--batch-size",
        "7",
        "--device",
        "cpu",
    ]
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    env = subprocess_env(OMP_NUM_THREADS="1")  # torchrun's default; float sums depend on the thread count
    subprocess.run(
        [sys.executable, "-m", "sfd_lightning", *args, "--out", str(one)],
        cwd=ROOT,
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "sfd_lightning",
            *args,
            "--out",
            str(two),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )  # --standalone: a free port, never one another run holds
    assert run.returncode == 0, run.stderr[-3000:]
    a, b = np.load(one), np.load(two)
    assert np.array_equal(a["labels"], b["labels"]) and np.array_equal(
        a["images"], b["images"]
    )  # same noise, same order
    assert a["images"].shape == (30, 1, 8, 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.npz", "one.png", "two.npz", "two.png"]
