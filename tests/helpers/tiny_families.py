"""Tiny random pipelines of the families read from diffusers (``random_families.TINY_FAMILIES``: diffusers layout,
no download), found from the backbone classes, and the shipped configs of each family cut down to a two-iteration
CPU fit on them."""

from pathlib import Path
from typing import Dict, Tuple

import torch
from project import CONFIGS, load_config
from random_families import TINY_FAMILIES, TinyFamily
from tiny_sd import two_step_cpu_fit


def backbones() -> Dict[str, type]:
    """{config prefix: backbone class} of every ``PipelineNetwork`` family that has a tiny pipeline, in
    ``TINY_FAMILIES``' order."""
    from sfd_lightning.models.components.pipeline_family import families
    from sfd_lightning.models.components.pipeline_network import PipelineNetwork

    classes = {cls.__name__: cls for cls in families() if issubclass(cls, PipelineNetwork)}
    return {tiny.prefix: classes[name] for name, tiny in TINY_FAMILIES.items() if name in classes}


def tiny_of(family: str) -> TinyFamily:
    return next(tiny for tiny in TINY_FAMILIES.values() if tiny.prefix == family)


def make_tiny_family(family: str, folder: Path) -> Path:
    torch.manual_seed(0)
    return tiny_of(family).write(folder)


def tiny_family_config(name: str, tmp_path: Path, tiny: Tuple[Path, Path]) -> dict:
    """The shipped config ``name`` (``<family>_<task>_forget.yaml``) on the tiny pipeline and CLIP ``tiny``, for a
    two-step CPU fit logging to CSV; its callbacks: a checkpoint every 2 steps, the CLIP score, the image grid (and
    the nudity judge with a two-step teacher)."""
    family = tiny_of(name.split("_")[0])
    config = load_config(CONFIGS / name)
    model = config["model"]["init_args"]
    net = model["teacher"]["init_args"]["net"]["init_args"]
    net.update(pretrained=str(tiny[0]), gradient_checkpointing=False, text_encoder_dtype="float32")
    net.update(**family.net, **family.text, **family.fit)
    if family.schedule:
        model["teacher"]["init_args"]["schedule"]["init_args"].update(family.schedule)
    return two_step_cpu_fit(config, tmp_path, tiny)  # the configs' own precision (bf16-mixed, their LoRA base)
