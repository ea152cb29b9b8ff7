"""Compact, comparable records of large tensors, so fixtures can hold every gradient of a network.

A tensor's fingerprint is its L2 norm, its dot product with a +-1 vector and 16 of its entries, the
vector and the entries chosen by a generator seeded from the tensor's name. Two tensors whose
difference has norm d give projections that differ by about d, so comparing norms and projections
to a tolerance relative to the norm checks every entry at once; the sampled entries check values.
"""

import hashlib
from typing import Dict, Mapping

import torch

N_SAMPLED = 16


def _probes(name: str, n: int):
    seed = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little") & (2**63 - 1)
    g = torch.Generator().manual_seed(seed)
    signs = torch.randint(0, 2, (n,), generator=g, dtype=torch.int8).double() * 2 - 1
    return signs, torch.randperm(n, generator=g)[:N_SAMPLED]


def fingerprint(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """(2 + 16,) float64: norm, projection, sampled entries (NaN-padded for tensors under 16 entries)."""
    flat = tensor.detach().double().flatten().cpu()
    signs, index = _probes(name, flat.numel())
    row = torch.full((2 + N_SAMPLED,), float("nan"), dtype=torch.float64)
    row[0], row[1], row[2 : 2 + len(index)] = flat.norm(), (flat * signs).sum(), flat[index]
    return row


def fingerprints(tensors: Mapping[str, torch.Tensor]) -> Dict[str, object]:
    """``{"names": [...], "table": (P, 18)}``: one small table for a whole network."""
    return {"names": list(tensors), "table": torch.stack([fingerprint(n, t) for n, t in tensors.items()])}


def assert_matches(
    tensors: Mapping[str, torch.Tensor],
    expected: Mapping[str, object],
    rtol: float,
    tensor_rtol: float = None,
    floor: float = 1e-3,
) -> None:
    """The set of tensors equals the fingerprinted one to ``rtol`` as a whole (the norm of the difference
    estimated from the projections, over the norm of all), and each tensor to ``tensor_rtol`` (default
    ``10 * rtol``): norm and projection relative to its norm, sampled entries relative to their magnitude
    plus the tensor's root-mean-square entry.

    Norms under ``floor`` times the largest one of the set count as that much: such tensors are float
    noise around zero (e.g. attention key biases, whose gradient is zero up to rounding).
    """
    tensor_rtol = 10 * rtol if tensor_rtol is None else tensor_rtol
    assert list(tensors) == list(expected["names"]), sorted(set(tensors) ^ set(expected["names"]))
    table = expected["table"]
    smallest = floor * float(table[:, 0].max())
    ours_table = torch.stack([fingerprint(name, t) for name, t in tensors.items()])
    total = float(table[:, 0].square().sum().sqrt())
    difference = float((ours_table[:, 1] - table[:, 1]).square().sum().sqrt())
    assert difference <= rtol * total, f"relative difference {difference / total:.3g} over all tensors (allowed {rtol})"
    for (name, tensor), ours, theirs in zip(tensors.items(), ours_table, table):
        norm = max(float(theirs[0]), smallest)
        tol = tensor_rtol * norm + 1e-12
        assert abs(float(ours[0] - theirs[0])) <= tol, (
            f"{name}: norm {float(ours[0]):.9g}, expected {float(theirs[0]):.9g}"
        )
        diff = abs(float(ours[1] - theirs[1]))
        assert diff <= tol, f"{name}: projection differs by {diff:.3g} (norm {norm:.3g}, tolerance {tol:.3g})"
        n = min(N_SAMPLED, tensor.numel())
        rms = norm / tensor.numel() ** 0.5
        excess = (ours[2 : 2 + n] - theirs[2 : 2 + n]).abs() - tensor_rtol * (theirs[2 : 2 + n].abs() + rms) - 1e-12
        assert excess.max() <= 0, (
            f"{name}: sampled entries {ours[2 : 2 + n].tolist()}, expected {theirs[2 : 2 + n].tolist()}"
        )
