"""Tiny random SDXL, SD3 and FLUX.1 pipelines (diffusers layout, no download), and the shipped configs of each
family cut down to a two-iteration CPU fit on them."""

from pathlib import Path
from typing import Tuple

import torch
from project import CONFIGS, load_config
from random_families import write_random_flux, write_random_sd3, write_random_sdxl
from tiny_sd import two_step_cpu_fit

WRITERS = {"sdxl": write_random_sdxl, "sd3": write_random_sd3, "flux": write_random_flux}


def make_tiny_family(family: str, folder: Path) -> Path:
    torch.manual_seed(0)
    return WRITERS[family](folder)


def tiny_family_config(name: str, tmp_path: Path, tiny: Tuple[Path, Path]) -> dict:
    """The shipped config ``name`` (``<family>_<task>_forget.yaml``) on the tiny pipeline and CLIP ``tiny``, for a
    two-step CPU fit logging to CSV; its callbacks: a checkpoint every 2 steps, the CLIP score, the image grid (and
    the nudity judge with a two-step teacher)."""
    family = name.split("_")[0]
    config = load_config(CONFIGS / name)
    model = config["model"]["init_args"]
    net = model["teacher"]["init_args"]["net"]["init_args"]
    net.update(pretrained=str(tiny[0]), gradient_checkpointing=False, text_encoder_dtype="float32")
    if family == "sdxl":
        net.update(vae_scale_factor=2)  # the tiny VAE's (two blocks): the time ids state the pixel size
    if family == "flux":
        net.update(resolution=8, max_sequence_length=16)
        model["teacher"]["init_args"]["schedule"]["init_args"]["image_tokens"] = 16  # 8 x 8 latents: 4 x 4 patches
    if family == "sd3":
        net.update(max_sequence_length=16)
    return two_step_cpu_fit(config, tmp_path, tiny)  # the configs' own precision (bf16-mixed, their LoRA base)
