"""``sfd sample --out`` (through SampleWriter): the file named is the file written, and nothing there is replaced
without --overwrite."""

import hashlib

import numpy as np
import pytest


def sample(run_cli, out, *extra):
    return run_cli(
        [
            "sample",
            "--ckpt",
            "assets/digits_teacher.pt",
            "--steps",
            "1",
            "--labels",
            "2,5",
            "--n-per-label",
            "2",
            "--seed",
            "0",
            "--device",
            "cpu",
            "--out",
            str(out),
            *extra,
        ]
    )


def test_an_existing_output_is_kept_unless_overwrite(run_cli, capsys, tmp_path):
    out = tmp_path / "s.npz"
    assert sample(run_cli, out) == 0
    assert f"wrote 4 samples to {out} and a grid to {tmp_path / 's.png'}" in capsys.readouterr().out
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    assert sorted(before) == ["s.npz", "s.png"]

    assert sample(run_cli, out, "--seed", "1") == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == f"sfd: error: --out: '{out}' exists; give a new name, or --overwrite to replace it"
    assert "sampling" not in captured.out  # refused before the model is loaded or anything is drawn
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()} == before

    (tmp_path / "g.png").write_bytes(b"my picture")  # the grid's name is taken: refused too
    assert (
        sample(run_cli, tmp_path / "g.npz") == 2
        and "'" + str(tmp_path / "g.png") + "' exists" in capsys.readouterr().err
    )

    assert sample(run_cli, out, "--seed", "1", "--overwrite") == 0
    assert hashlib.sha256(out.read_bytes()).hexdigest() != before["s.npz"] and np.load(out)["labels"].tolist() == [
        2,
        2,
        5,
        5,
    ]


@pytest.mark.parametrize("name", ["data.txt", "samples", "grid.png"])
def test_an_output_that_is_not_an_npz_is_refused(run_cli, capsys, tmp_path, name):
    """numpy's savez would write data.txt.npz and report data.txt; grid.png would be overwritten by its own grid."""
    assert sample(run_cli, tmp_path / name) == 2
    assert (
        capsys.readouterr().err.strip() == f"sfd: error: --out: must end in .npz (the samples' file; the grid goes "
        f"beside it), got '{tmp_path / name}'"
    )
    assert not any(tmp_path.iterdir())
