"""Tiny random SDXL, SD3 and FLUX.1 pipelines (diffusers layout, no download), and the shipped configs of each
family cut down to a two-iteration CPU fit on them."""
from pathlib import Path
from typing import Tuple

import torch
from project import CONFIGS, load_config

from sfd_lightning.tools.random_families import write_random_flux, write_random_sd3, write_random_sdxl

WRITERS = {"sdxl": write_random_sdxl, "sd3": write_random_sd3, "flux": write_random_flux}
LATENT_CHANNELS = 4  # the tiny networks' latents, every family (the real SD3 and FLUX: 16)


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
    model["autoencoder"]["init_args"]["pretrained"] = str(tiny[0])
    config["data"]["init_args"].update(shape=[LATENT_CHANNELS, 8, 8], batch_size=2, iterations=2, n_validation=2)
    trainer = config["trainer"]
    trainer.update(accelerator="cpu", devices=1, default_root_dir=str(tmp_path / "run"))
    trainer["logger"] = {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": str(tmp_path / "logs")}}
    callbacks = trainer["callbacks"]
    callbacks[0]["init_args"]["every_n_train_steps"] = 2
    callbacks[1]["init_args"].update(clip_model=str(tiny[1]), n_per_prompt=2, every_n_iterations=0)
    callbacks[2]["init_args"].update(n_per_label=2, every_n_iterations=0)
    for callback in callbacks:
        if callback.get("class_path", "").endswith("NudityCallback"):
            callback["init_args"].update(n_per_prompt=1, teacher_steps=2)
    return config
