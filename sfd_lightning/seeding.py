"""Seeds derived from (base seed, iteration, rank): randomness that a resumed or re-ranked run reproduces."""
import hashlib

import torch


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from integers; distinct tuples give unrelated streams."""
    digest = hashlib.blake2b(",".join(str(int(p)) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def generator(*parts: int) -> torch.Generator:
    """A CPU generator seeded from ``derive_seed(*parts)``."""
    return torch.Generator().manual_seed(derive_seed(*parts))
