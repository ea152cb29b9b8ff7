"""Seeds derived from (base seed, iteration, rank): randomness that a resumed or re-ranked run reproduces.

Each consumer draws from its own named stream: the data's noise and the training step's draws come
from the same (seed, iteration, rank), and one stream for both would hand the loss the generator's
own noise (the same numbers, drawn in the same order).
"""

import hashlib

import torch

from sfd_lightning.errors import ConfigError

SEED_LIMIT = 2**64  # torch.Generator.manual_seed takes 0 <= seed < 2**64 (a negative seed wraps around)


def seed_problem(value: int, limit: int = SEED_LIMIT) -> str:
    """What is wrong with ``value`` as a seed ('' if nothing): seeds are integers in [0, ``limit``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"a seed is an integer, got {value!r}"
    if not 0 <= value < limit:
        return f"a seed is an integer in [0, 2^{limit.bit_length() - 1}), got {value}"
    return ""


def check_seed(value: int, field: str, limit: int = SEED_LIMIT) -> int:
    """``value`` if it is a seed below ``limit`` (default: those torch's generators take), else a ConfigError on
    ``field``; every verb's ``--seed`` is checked here before anything is drawn or written."""
    problem = seed_problem(value, limit)
    if problem:
        raise ConfigError(field, problem)
    return value


def derive_seed(*parts: int, stream: str = "") -> int:
    """A 63-bit seed from integers; distinct tuples or streams give unrelated streams."""
    text = ",".join(str(int(p)) for p in parts) + (f"@{stream}" if stream else "")
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def generator(*parts: int, stream: str = "") -> torch.Generator:
    """A CPU generator seeded from ``derive_seed(*parts, stream=stream)``."""
    return torch.Generator().manual_seed(derive_seed(*parts, stream=stream))
