"""Drawing a suite's images with one model into its folder, in batches of items that share a guidance scale."""

from itertools import groupby
from typing import Iterator, List, Sequence

import torch

from sfd_lightning.benchmark.image_folder import missing, write_png
from sfd_lightning.benchmark.items import Item, item_noise
from sfd_lightning.benchmark.ranks import Ranks
from sfd_lightning.data.finite import count_nonfinite, require_finite
from sfd_lightning.metrics.eval_progress import eval_progress
from sfd_lightning.pipelines.base import Pipeline


def batches(items: Sequence[Item], todo: Sequence[int], batch_size: int, guided: bool) -> Iterator[List[int]]:
    """Runs of at most ``batch_size`` indices of ``todo``; for a guided model each run shares one guidance scale."""
    key = (lambda i: items[i].guidance) if guided else (lambda i: None)
    for _, run in groupby(todo, key=key):
        run = list(run)
        for start in range(0, len(run), batch_size):
            yield run[start : start + batch_size]


def require_finite_draw(
    model: Pipeline,
    images: torch.Tensor,
    noise: torch.Tensor,
    prompts: List[str],
    guidance: float,
    guidance_field: str,
) -> None:
    """Non-finite images are an error naming what to change: the guidance scale's option (``guidance_field``) when
    the same noise and prompts drawn unguided (scale 1) are finite, else the weights (``--ckpt``)."""
    consequence = "so nothing is written or judged"
    if not count_nonfinite(images):
        return
    if model.guided and guidance != 1 and not count_nonfinite(model.draw(noise, prompts, 1.0)):
        require_finite(
            images,
            guidance_field,
            f"{model.name} images drawn at guidance scale {guidance:g}",
            f"while unguided they are finite; give a smaller guidance scale, {consequence}",
        )
    require_finite(images, "--ckpt", f"{model.name} images", consequence)


def draw(
    model: Pipeline,
    items: Sequence[Item],
    folder: str,
    batch_size: int,
    cfg_scale: float,
    ranks: Ranks,
    desc: str,
    file_field: str = "",
) -> int:
    """This rank's share of the images of ``items`` not yet in ``folder``; returns how many it drew. A row's own
    guidance scale (I2P's, from the file of the option ``file_field``) overrides ``cfg_scale`` for guided models."""
    todo = missing(folder, len(items))
    mine = ranks.mine(todo)
    runs = list(batches(items, mine, batch_size, model.guided))
    for run in eval_progress(runs, len(runs), f"{desc}, {len(todo):,} images", enabled=ranks.is_main):
        noise = torch.cat([item_noise(items[i].seed, model.shape) for i in run]).to(ranks.device)
        own = items[run[0]].guidance
        guidance = own if own is not None else cfg_scale
        prompts = [items[i].prompt for i in run]
        images = model.draw(noise, prompts, guidance)
        require_finite_draw(model, images, noise, prompts, guidance, file_field if own is not None else "--cfg-scale")
        for i, image in zip(run, images):
            write_png(folder, i, image)
    return len(mine)
