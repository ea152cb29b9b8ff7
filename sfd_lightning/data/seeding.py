"""Seeds derived from (base seed, iteration, rank): randomness that a resumed or re-ranked run reproduces.

Each consumer draws from its own named stream: the data's noise and the training step's draws come
from the same (seed, iteration, rank), and one stream for both would hand the loss the generator's
own noise (the same numbers, drawn in the same order).
"""
import hashlib

import torch


def derive_seed(*parts: int, stream: str = "") -> int:
    """A 63-bit seed from integers; distinct tuples or streams give unrelated streams."""
    text = ",".join(str(int(p)) for p in parts) + (f"@{stream}" if stream else "")
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def generator(*parts: int, stream: str = "") -> torch.Generator:
    """A CPU generator seeded from ``derive_seed(*parts, stream=stream)``."""
    return torch.Generator().manual_seed(derive_seed(*parts, stream=stream))
