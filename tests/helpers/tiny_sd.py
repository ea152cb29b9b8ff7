"""A tiny random Stable Diffusion (UNet, CLIP text encoder, character tokenizer, VAE) and a tiny CLIP,
saved in the diffusers / transformers folder layouts so the real ``from_pretrained`` code reads them."""

from pathlib import Path
from typing import List, Tuple

import torch
from project import CONFIGS, load_config
from random_pipelines import write_random_sd, write_tokenizer
from seeded_weights import seeded_state_dict

TINY_UNET = dict(
    sample_size=8,
    in_channels=4,
    out_channels=4,
    layers_per_block=1,
    block_out_channels=(16, 32),
    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=16,
    attention_head_dim=4,
    norm_num_groups=8,
)
TINY_TEXT = dict(
    hidden_size=16,
    intermediate_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    max_position_embeddings=16,
    projection_dim=16,
)
TINY_VAE = dict(
    block_out_channels=(8, 16),
    down_block_types=("DownEncoderBlock2D",) * 2,
    up_block_types=("UpDecoderBlock2D",) * 2,
    latent_channels=4,
    norm_num_groups=8,
    sample_size=16,
)


def make_tiny_sd(folder: Path) -> Path:
    torch.manual_seed(0)
    return write_random_sd(folder, TINY_UNET, TINY_TEXT, TINY_VAE)


def unet_shapes() -> List[Tuple[str, Tuple[int, ...]]]:
    from diffusers import UNet2DConditionModel

    return [(k, tuple(v.shape)) for k, v in UNet2DConditionModel(**TINY_UNET).state_dict().items()]


def make_seeded_tiny_sd(folder: Path) -> Path:
    """:func:`make_tiny_sd` with UNet and text-encoder weights seeded by name (seeded_weights.py): the
    same weights whatever the library versions' initialisation, so fixtures can be replayed."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel

    make_tiny_sd(folder)
    for cls, sub in ((UNet2DConditionModel, "unet"), (CLIPTextModel, "text_encoder")):
        model = cls.from_pretrained(folder / sub)
        shapes = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
        model.load_state_dict(seeded_state_dict(shapes, salt="tiny sd "), strict=True)
        model.save_pretrained(folder / sub)
    return folder


def make_tiny_clip(folder: Path) -> Path:
    from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPVisionConfig

    torch.manual_seed(1)
    vocab_size = write_tokenizer(folder, TINY_TEXT["max_position_embeddings"])
    vision = CLIPVisionConfig(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=16,
        patch_size=8,
        projection_dim=16,
    )
    text = CLIPTextConfig(vocab_size=vocab_size, **TINY_TEXT)
    CLIPModel(
        CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=16)
    ).save_pretrained(folder)
    return folder


def tiny_sd_config(name: str, tmp_path: Path, tiny: Tuple[Path, Path]) -> dict:
    """The shipped Stable Diffusion config ``name`` (under configs/) on the tiny SD and CLIP ``tiny``, for a
    two-step CPU fit logging to CSV; its callbacks: a checkpoint every 2 steps, the CLIP score, the image grid (and the
    nudity judge)."""
    config = load_config(CONFIGS / name)
    model = config["model"]["init_args"]
    model["teacher"]["init_args"]["net"]["init_args"].update(pretrained=str(tiny[0]), gradient_checkpointing=False)
    return two_step_cpu_fit(config, tmp_path, tiny, precision="32-true")


def two_step_cpu_fit(config: dict, tmp_path: Path, tiny: Tuple[Path, Path], **trainer_options) -> dict:
    """A prompt config cut to a two-step CPU fit on the tiny pipeline and CLIP ``tiny`` (4x8x8 latents), logging to
    CSV under ``tmp_path``; its callbacks: a checkpoint every 2 steps, the CLIP score, the image grid, the nudity judge
    with a two-step teacher where it has one."""
    config["model"]["init_args"]["autoencoder"]["init_args"]["pretrained"] = str(tiny[0])
    config["data"]["init_args"].update(shape=[4, 8, 8], batch_size=2, iterations=2, n_validation=2)
    trainer = config["trainer"]
    trainer.update(accelerator="cpu", devices=1, default_root_dir=str(tmp_path / "run"), **trainer_options)
    trainer["logger"] = {
        "class_path": "lightning.pytorch.loggers.CSVLogger",
        "init_args": {"save_dir": str(tmp_path / "logs")},
    }
    callbacks = trainer["callbacks"]
    callbacks[0]["init_args"]["every_n_train_steps"] = 2
    callbacks[1]["init_args"].update(clip_model=str(tiny[1]), n_per_prompt=2, every_n_iterations=0)
    callbacks[2]["init_args"].update(n_per_label=2, every_n_iterations=0)
    for callback in callbacks:
        if callback.get("class_path", "").endswith("NudityCallback"):
            callback["init_args"].update(n_per_prompt=1, teacher_steps=2)
    return config


def stock_pipeline(folder: Path, unet=None):
    """diffusers' own ``StableDiffusionPipeline`` on the tiny SD's parts (``unet``: another UNet, e.g. an exported
    generator's), with the DDPM scheduler the model cards' recipe uses."""
    from diffusers import AutoencoderKL, DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    return StableDiffusionPipeline(
        vae=AutoencoderKL.from_pretrained(folder, subfolder="vae"),
        text_encoder=CLIPTextModel.from_pretrained(folder, subfolder="text_encoder"),
        tokenizer=CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer"),
        unet=unet if unet is not None else UNet2DConditionModel.from_pretrained(folder, subfolder="unet"),
        scheduler=DDPMScheduler.from_pretrained(folder, subfolder="scheduler"),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def sample_two_prompts(ckpt: Path, tmp_path: Path):
    """`sfd sample` of a prompt run's checkpoint, two images each of "a photo of brad pitt" and "a bowl of ramen":
    the .npz it wrote, loaded."""
    import numpy as np

    from sfd_lightning.cli import main

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a photo of brad pitt\na bowl of ramen\n")
    out = tmp_path / "s.npz"
    main(
        [
            "sample",
            "--ckpt",
            str(ckpt),
            "--prompts-file",
            str(prompts),
            "--n-per-prompt",
            "2",
            "--out",
            str(out),
            "--device",
            "cpu",
        ]
    )
    return np.load(out)
