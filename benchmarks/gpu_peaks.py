"""Dense bf16 tensor-core peaks of the GPUs we expect to meet, for the model FLOP utilisation.

From NVIDIA's data sheets, without sparsity. A name not in the table gives None: the utilisation is then "unknown".
"""

from typing import Optional

PEAK_BF16_TFLOPS = (  # (substring of torch.cuda.get_device_name, TFLOP/s); the first match wins
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),  # SXM
    ("H200", 989.4),
    ("GH200", 989.4),
    ("A100", 312.0),
    ("B200", 2250.0),
    ("L40S", 362.0),
)


def peak_bf16_flops(device_name: str) -> Optional[float]:
    """FLOP/s of ``device_name``'s dense bf16 peak, or None when it is not in the table."""
    for key, tflops in PEAK_BF16_TFLOPS:
        if key in device_name:
            return tflops * 1e12
    return None
