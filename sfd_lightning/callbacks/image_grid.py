"""A per-class image grid of the EMA generator: one row per label, its class or prompt written under it."""

import os
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from lightning.pytorch import LightningModule, Trainer
from PIL import Image, ImageDraw, ImageFont
from torchvision.utils import make_grid, save_image

from sfd_lightning.callbacks.periodic import PeriodicEvalCallback
from sfd_lightning.data.class_names import imagenet_class_names
from sfd_lightning.data.prompts import PromptDataModule
from sfd_lightning.data.sample_blocks import SampleBlocks  # one block: the noise sfd sample draws
from sfd_lightning.io.run_dir import run_dir
from sfd_lightning.metrics.sampling import forgotten_classes, generator_sampler, label_subset, labels_for, sample_shape


def caption(text: str, width: int, channels: int) -> torch.Tensor:
    """A (channels, 14, width) strip in [0, 1]: ``text`` in black on white, cut to fit with "..."."""
    font = ImageFont.load_default()
    text = text[:width]  # no glyph is narrower than a pixel: the rest cannot show, and each cut below measures it all
    while len(text) > 1 and font.getlength(text) > width - 4:
        text = text[:-4] + "..." if len(text) > 4 else text[:-1]
    strip = Image.new("L", (width, 14), 255)
    ImageDraw.Draw(strip).text((2, 1), text, fill=0, font=font)
    return torch.from_numpy(np.asarray(strip, dtype=np.float32) / 255.0).expand(channels, -1, -1)


def label_grid(
    images: torch.Tensor, n_per_label: int, min_size: int = 32, row_labels: Optional[Sequence[str]] = None
) -> torch.Tensor:
    """(K*n, C, H, W) images in [-1, 1], label-major, to one grid image in [0, 1] with a row per label,
    each row's ``row_labels`` entry (its class or prompt) written under it when given.

    Images smaller than ``min_size`` pixels are enlarged (nearest neighbour) so the grid is legible.
    """
    factor = max(1, min_size // images.shape[-1])
    images = torch.nn.functional.interpolate(images, scale_factor=factor, mode="nearest") if factor > 1 else images
    images = (images.clamp(-1, 1) + 1) / 2
    if row_labels is None:
        return make_grid(images, nrow=n_per_label, padding=2, pad_value=1.0)
    if len(row_labels) * n_per_label != len(images):
        raise ValueError(f"{len(row_labels)} row labels for {len(images)} images of {n_per_label} a row")
    rows: List[torch.Tensor] = []
    for i, text in enumerate(row_labels):
        row = make_grid(images[i * n_per_label : (i + 1) * n_per_label], nrow=n_per_label, padding=2, pad_value=1.0)
        rows += [row, caption(str(text), row.shape[-1], row.shape[0])]
    return torch.cat(rows, dim=1)


def class_row_labels(rows: Sequence[int], forget_label: Union[None, int, Sequence[int]], num_classes: int) -> List[str]:
    """Row captions of a class grid: the class (its ImageNet name for 1,000 classes), each forgotten one (one label,
    a list, or None) marked."""
    names = imagenet_class_names() if num_classes == 1000 else None
    forgotten = (
        set() if forget_label is None else {forget_label} if isinstance(forget_label, int) else set(forget_label)
    )
    return [f"{c}" + (f" {names[c]}" if names else "") + (" (forgotten)" if c in forgotten else "") for c in rows]


class ImageGridCallback(PeriodicEvalCallback):
    """Save ``grids/iteration_<i>.png`` (and ``grids/final.png``) under the run folder; log it where the logger can."""

    final_differs = True

    def __init__(
        self,
        n_per_label: int = 10,
        every_n_iterations: int = 0,
        seed: int = 99,
        max_retained_labels: Optional[int] = None,
    ):
        """
        Args:
            n_per_label: images per row.
            every_n_iterations: save a grid every this many SFD iterations (0: only at the end).
            seed: noise seed, fixed so grids are comparable across iterations.
            max_retained_labels: rows for at most this many retained labels, evenly spaced, plus every forgotten label.
        """
        super().__init__(every_n_iterations)
        self.n_per_label, self.seed, self.max_retained_labels = n_per_label, seed, max_retained_labels
        self.last_path = None

    def evaluate(self, trainer: Trainer, pl_module: LightningModule, final: bool) -> Dict[str, float]:
        if not trainer.is_global_zero:
            return {}
        data = trainer.datamodule
        prompts = data.validation_prompts if isinstance(data, PromptDataModule) else None
        if prompts is not None:  # prompt-conditioned: a row per forget prompt, then per retained prompt
            captions = [f"(forgotten) {p}" for p in prompts["forget"]] + list(prompts["retained"])
            labels = [p for p in prompts["forget"] + prompts["retained"] for _ in range(self.n_per_label)]
        else:
            forget = [c.label for c in forgotten_classes(pl_module)]
            rows = label_subset(pl_module.num_classes, forget, self.max_retained_labels)
            captions = class_row_labels(rows, forget, pl_module.num_classes)
            labels = labels_for(rows, self.n_per_label, pl_module.device)
        noise = SampleBlocks(labels, sample_shape(trainer), len(labels), self.seed)[0]["noise"].to(pl_module.device)
        grid = label_grid(generator_sampler(pl_module)(noise, labels), self.n_per_label, row_labels=captions)
        name = "final" if final else f"iteration_{pl_module.iteration:06d}"
        self.last_path = os.path.join(run_dir(trainer), "grids", f"{name}.png")
        os.makedirs(os.path.dirname(self.last_path), exist_ok=True)
        save_image(grid, self.last_path)
        log_image = getattr(trainer.logger, "log_image", None)
        if callable(log_image):
            log_image(
                key="samples/grid",
                images=[grid],
                step=pl_module.iteration,
                caption=[f"iteration {pl_module.iteration}: one row per " + ("prompt" if prompts else "class")],
            )
        return {}
