"""The GPU check script's code paths, with tiny backbones on the CPU (the real run needs a GPU)."""

import json

import pytest

from benchmarks.gpu_check import main


@pytest.mark.slow  # every backbone built and timed, ~30 s
def test_tiny_self_test_prints_and_writes_every_figure(tmp_path, capsys):
    out = tmp_path / "gpu_check.json"
    main(["--tiny", "--device", "cpu", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "all backbones finite: True" in printed and "TINY sizes" in printed
    result = json.loads(out.read_text())
    assert {r["backbone"] for r in result["smoke"]} >= {
        "digits UNet",
        "CIFAR-10 DDPM UNet",
        "DiT (tiny)",
        "SD/DiT VAE decoder",
    }
    assert all(r["ok"] for r in result["smoke"])
    cases = result["sfd_iteration"]
    assert len(cases) == 3
    for name, rows in cases.items():
        assert all(r["samples_per_s"] > 0 and r["speed_vs_reference"] > 0 for r in rows)
        if name.startswith("SD"):  # bf16, gradient checkpointing off and on
            assert [r["mode"] for r in rows] == ["ours: batched, bf16", "ours: batched, bf16, gradient checkpointing"]
        else:
            assert rows[0]["mode"].startswith("reference way") and len(rows) == 4
