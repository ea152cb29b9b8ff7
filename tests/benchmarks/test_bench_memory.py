"""make bench-memory: its arithmetic, its LoRA count against peft's adapters, and one measured row."""

import pytest
import torch

import benchmarks.bench_memory as bench_memory
from sfd_lightning.diffusion import FlowDenoiser, VPDenoiser
from sfd_lightning.models.lora import LoRA


def test_arithmetic_counts_four_copies_and_adam_for_full_and_one_bf16_base_for_lora():
    n = {"network": 2**30, "text_encoder": 2**28, "adapters": 2**20}
    full = bench_memory.arithmetic(n, lora=False)
    assert (full["weights"], full["adam"], full["grads"], full["text_encoder"]) == (16, 16, 8, 1)
    lora = bench_memory.arithmetic(n, lora=True)
    assert lora["weights"] == 2 + 12 / 1024 and lora["adam"] == 16 / 1024 and lora["total"] < full["total"] / 10


def test_counted_adapters_equal_the_ones_peft_adds(tmp_path):
    keys = ("dit", "cifar10", "sdxl", "sd3", "flux")
    bench_memory.write_folders(tmp_path, tiny=True, keys=list(keys))
    for key in keys:
        case = bench_memory.cases(tiny=True)[key]
        counted = bench_memory.counts(case)
        net = (
            VPDenoiser(case.network(False, str(tmp_path)))
            if not case.flow
            else FlowDenoiser(case.network(False, str(tmp_path)))
        )
        LoRA(rank=bench_memory.RANK).adapt(net)
        assert counted["adapters"] == sum(p.numel() for n, p in net.named_parameters() if "lora_" in n), key
        assert counted["network"] == sum(p.numel() for n, p in net.named_parameters() if "lora_" not in n)


@pytest.mark.slow  # ~28 s: three LoRA SFD iterations, each in a process of its own
def test_a_row_that_cannot_fit_is_skipped_and_one_that_fits_is_measured(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(bench_memory, "available_gib", lambda device: 0.0)
    bench_memory.main(["--tiny", "--cases", "cifar10", "--modes", "full fp32"])
    assert "does not fit" in capsys.readouterr().out
    monkeypatch.undo()
    # LoRA SFD iterations, bf16 base: a prompt VP case (SD's UNet and text encoder), a flow one (FLUX), a class one
    bench_memory.main(
        ["--tiny", "--cases", "sd15,flux,cifar10", "--modes", "LoRA bf16", "--out", str(tmp_path / "rows.json")]
    )
    out = capsys.readouterr().out
    assert out.count("s/iteration") == 3, out
    import json

    rows = json.loads((tmp_path / "rows.json").read_text())["rows"]
    for row in rows:
        assert row["peak_GiB"] > 0 and row["s_per_iteration"] > 0 and torch.isfinite(torch.tensor(row["peak_GiB"]))
