"""Drawing a suite's images with one model into its folder, in batches of items that share a guidance scale."""
from itertools import groupby
from typing import Iterator, List, Sequence

import torch

from sfd_lightning.benchmark.image_folder import missing, write_png
from sfd_lightning.benchmark.items import Item, item_noise
from sfd_lightning.benchmark.models import BenchModel
from sfd_lightning.benchmark.ranks import Ranks
from sfd_lightning.data.finite import require_finite
from sfd_lightning.metrics.eval_progress import eval_progress


def batches(items: Sequence[Item], todo: Sequence[int], batch_size: int, guided: bool) -> Iterator[List[int]]:
    """Runs of at most ``batch_size`` indices of ``todo``; for a guided model each run shares one guidance scale."""
    key = (lambda i: items[i].guidance) if guided else (lambda i: None)
    for _, run in groupby(todo, key=key):
        run = list(run)
        for start in range(0, len(run), batch_size):
            yield run[start:start + batch_size]


def draw(model: BenchModel, items: Sequence[Item], folder: str, batch_size: int, cfg_scale: float,
         ranks: Ranks, desc: str) -> int:
    """This rank's share of the images of ``items`` not yet in ``folder``; returns how many it drew. A row's own
    guidance scale (I2P's) overrides ``cfg_scale`` for guided models."""
    todo = missing(folder, len(items))
    mine = ranks.mine(todo)
    runs = list(batches(items, mine, batch_size, model.guided))
    for run in eval_progress(runs, len(runs), f"{desc}, {len(todo):,} images", enabled=ranks.is_main):
        noise = torch.cat([item_noise(items[i].seed, model.shape) for i in run]).to(ranks.device)
        guidance = items[run[0]].guidance if items[run[0]].guidance is not None else cfg_scale
        images = model.draw(noise, [items[i].prompt for i in run], guidance)
        require_finite(images, "--ckpt", f"{model.name} images", "so nothing is written or judged")
        for i, image in zip(run, images):
            write_png(folder, i, image)
    return len(mine)
