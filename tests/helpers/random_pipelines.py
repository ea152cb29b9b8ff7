"""Randomly initialised Stable Diffusion folders (diffusers layout) for checks without downloads.

The tokenizer's vocabulary is written here: every lowercase letter, digit and a little punctuation,
alone and word-final (``a</w>``), with no merges, so any lowercase prompt tokenizes into characters.
Used by ``make gpu-check`` (SD-1.5-size UNet, random weights) and by the tests (tiny sizes).
"""

import json
import string
from pathlib import Path
from typing import Any, Dict

SD15_UNET = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    cross_attention_dim=768,
    attention_head_dim=8,
)
SD15_TEXT = dict(
    hidden_size=768,
    intermediate_size=3072,
    num_hidden_layers=12,
    num_attention_heads=12,
    max_position_embeddings=77,
    projection_dim=768,
)


def write_tokenizer(folder: Path, max_length: int) -> int:
    """A character-level CLIP tokenizer in ``folder``; returns its vocabulary size."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in list(string.ascii_lowercase) + list(string.digits) + list(",.!'-"):
        vocab.setdefault(symbol, len(vocab))
        vocab.setdefault(symbol + "</w>", len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=max_length)
    tokenizer.save_pretrained(folder)
    return len(tokenizer)


def write_random_sd(folder: Path, unet: Dict[str, Any], text: Dict[str, Any], vae: Dict[str, Any] = None) -> Path:
    """``unet/``, ``text_encoder/``, ``tokenizer/``, ``scheduler/`` (SD 1.5's noise schedule) and optionally
    ``vae/`` with random weights under ``folder``, and the pipeline's ``model_index.json``."""
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    vocab_size = write_tokenizer(folder / "tokenizer", text["max_position_embeddings"])
    CLIPTextModel(CLIPTextConfig(vocab_size=vocab_size, **text)).save_pretrained(folder / "text_encoder")
    UNet2DConditionModel(**unet).save_pretrained(folder / "unet")
    DDPMScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        prediction_type="epsilon",
    ).save_pretrained(folder / "scheduler")
    if vae is not None:
        AutoencoderKL(**vae).save_pretrained(folder / "vae")
    write_index(
        folder,
        "StableDiffusionPipeline",
        {
            "unet": ("diffusers", "UNet2DConditionModel"),
            "text_encoder": ("transformers", "CLIPTextModel"),
            "tokenizer": ("transformers", "CLIPTokenizer"),
            "scheduler": ("diffusers", "DDPMScheduler"),
            **({"vae": ("diffusers", "AutoencoderKL")} if vae is not None else {}),
        },
    )
    return folder


def write_index(folder: Path, pipeline: str, parts: Dict[str, Any]) -> None:
    """``model_index.json``: the pipeline class and each part's (library, class), as ``save_pretrained`` writes it."""
    index = {"_class_name": pipeline, **{k: list(v) for k, v in parts.items()}}
    (folder / "model_index.json").write_text(json.dumps(index, indent=1))
