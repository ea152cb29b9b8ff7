"""What a suite samples: one :class:`Item` per image, with the seed of its noise, so the teacher and the model
under test draw every image from the same noise, and a resumed benchmark draws the rest unchanged."""

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import List, Optional, Sequence

import torch

from sfd_lightning.data.seeding import SEED_LIMIT
from sfd_lightning.errors import ConfigError


@dataclass(frozen=True)
class Item:
    """One image of a suite: its prompt, its noise seed, the guidance scale of its row (None: ``--cfg-scale``) and the
    group it is judged in (``forget``, a retained person's name, ...)."""

    prompt: str
    seed: int
    guidance: Optional[float] = None
    group: str = ""


def item_noise(seed: int, shape: Sequence[int]) -> torch.Tensor:
    """The noise (1, *shape) of seed ``seed``, from torch's CPU generator: for Stable Diffusion's latents (4, 64, 64)
    it is what diffusers' pipelines draw for ``generator=torch.Generator().manual_seed(seed)`` (one image a call), the
    convention of the I2P seeds."""
    return torch.randn((1, *shape), generator=torch.Generator().manual_seed(int(seed)))


def repeated(
    prompts: Sequence[str],
    n: int,
    seed: int,
    seeds: Optional[Sequence[Optional[int]]] = None,
    guidance: Optional[Sequence[Optional[float]]] = None,
    group: str = "",
    field: str = "--seed",
) -> List[Item]:
    """Each prompt ``n`` times. Image k of prompt j has seed ``seeds[j] + k`` when the file gives a seed for the row,
    else ``seed + j * n + k``. A seed past torch's range is a ConfigError on ``field`` (the option the seeds came from)
    before anything is drawn."""
    items = []
    for j, prompt in enumerate(prompts):
        own = seeds[j] if seeds is not None else None
        for k in range(n):
            items.append(
                Item(
                    prompt,
                    (own + k) if own is not None else seed + j * n + k,
                    guidance[j] if guidance is not None else None,
                    group,
                )
            )
    past = [i for i, item in enumerate(items) if item.seed >= SEED_LIMIT]
    if past:
        raise ConfigError(
            field,
            f"image {past[0]} (prompt {items[past[0]].prompt[:40]!r}) would have seed "
            f"{items[past[0]].seed}, past torch's largest seed 2^64 - 1; lower the seeds or --n-per-prompt",
        )
    return items


def items_digest(items: Sequence[Item]) -> str:
    """SHA-256 of the items, in order: a folder's images belong to these items only if the digests agree."""
    return hashlib.sha256(json.dumps([asdict(i) for i in items]).encode()).hexdigest()
