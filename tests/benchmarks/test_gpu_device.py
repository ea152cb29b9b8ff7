"""What makes sense on a GPU, parametrised over the device: on CUDA where there is one (``benchmarks/gpu/run.sh``
runs these with ``-m gpu``), on the CPU everywhere."""

import pytest
import torch

import benchmarks.gpu_check as gpu_check
import benchmarks.gpu_iteration as gpu_iteration

pytestmark = pytest.mark.gpu
# On the CPU these take minutes with bf16 (and the GPU check's rehearsal runs the same code): slow there
DEVICES = [
    pytest.param("cpu", marks=pytest.mark.slow),
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]


def test_cuda_is_among_the_devices_exactly_when_torch_sees_one():
    assert any(p.values == ("cuda",) and not p.marks[0].args[0] for p in DEVICES) == torch.cuda.is_available()


@pytest.mark.parametrize("device", DEVICES)
def test_every_tiny_backbone_is_finite_forward_and_backward_in_fp32_and_bf16(device):
    rows = gpu_check.smoke(torch.device(device), tiny=True, batch=2)
    assert {r["dtype"] for r in rows} == {"float32", "bfloat16"}
    assert all(r["ok"] for r in rows), [r["backbone"] for r in rows if not r["ok"]]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["full fp32", "LoRA bf16"])
def test_one_measured_sfd_iteration_counts_flops_and_times_its_passes(device, mode, tmp_path):
    row = gpu_iteration.fit_row("cifar10", mode, device, True, str(tmp_path), iterations=1, repeats=1)
    assert row["s_per_iteration"] > 0 and row["peak_GiB"] > 0 and row["tflop_per_iteration"] > 0
    assert len(row["passes_s"]) == 5 and row["ratio_to_passes"] > 0
    assert (row["mfu"] is None) == (row["peak_bf16_TFLOPs"] is None)
