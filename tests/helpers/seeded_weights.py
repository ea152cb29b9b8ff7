"""Deterministic weights for a state dict's keys and shapes, so fixtures need not store them.

Each tensor comes from its own CPU generator seeded by its name: uniform in +-1/sqrt(fan_in) for
weight matrices and kernels, 1 +- 0.1 for 1-D ``weight`` entries (norm scales), +-0.1 for biases,
standard normal for embeddings. Scales keep activations of a deep UNet finite and non-trivial.
"""

import hashlib
from typing import Dict, Iterable, Tuple

import torch


def _generator(name: str) -> torch.Generator:
    seed = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little") & (2**63 - 1)
    return torch.Generator().manual_seed(seed)


def seeded_tensor(name: str, shape: Tuple[int, ...]) -> torch.Tensor:
    u = torch.rand(shape, generator=_generator(name), dtype=torch.float64) * 2 - 1
    if "emb" in name and not name.endswith("bias") and len(shape) <= 2 and "dense" not in name:
        return torch.randn(shape, generator=_generator(name), dtype=torch.float64).float()
    if len(shape) >= 2:
        fan_in = 1
        for s in shape[1:]:
            fan_in *= s
        return (u / fan_in**0.5).float()
    if name.endswith("weight"):
        return (1 + 0.1 * u).float()
    return (0.1 * u).float()


def seeded_state_dict(shapes: Iterable[Tuple[str, Tuple[int, ...]]], salt: str = "") -> Dict[str, torch.Tensor]:
    """``{name: tensor}`` for ``(name, shape)`` pairs; a different ``salt`` gives different weights."""
    return {name: seeded_tensor(salt + name, tuple(shape)) for name, shape in shapes}


def seeded_module(module: torch.nn.Module, salt: str = "") -> torch.nn.Module:
    """``module`` with every weight drawn by :func:`seeded_state_dict` (a fresh UNet's zero-initialised output
    layers would ignore the condition)."""
    module.load_state_dict(seeded_state_dict(((k, tuple(v.shape)) for k, v in module.state_dict().items()), salt))
    return module
