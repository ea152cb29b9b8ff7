"""A tiny random Stable Diffusion (UNet, CLIP text encoder, tokenizer, VAE) and a tiny CLIP, saved in
the diffusers / transformers folder layouts so the real ``from_pretrained`` code reads them.

The tokenizer's vocabulary is written here: every lowercase letter alone and word-final (``a</w>``),
no merges, so any lowercase prompt tokenizes into letters.
"""
import json
import string
from pathlib import Path

import torch

TINY_UNET = dict(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32),
                 down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
                 cross_attention_dim=16, attention_head_dim=4, norm_num_groups=8)
TINY_VAE = dict(block_out_channels=(8, 16), down_block_types=("DownEncoderBlock2D",) * 2,
                up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=8, sample_size=16)


def write_tokenizer(folder: Path) -> None:
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in list(string.ascii_lowercase) + list(string.digits) + list(",.!'-"):
        vocab.setdefault(symbol, len(vocab))
        vocab.setdefault(symbol + "</w>", len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=16).save_pretrained(folder)


def text_config(vocab_size: int):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                          num_attention_heads=2, max_position_embeddings=16, projection_dim=16)


def make_tiny_sd(folder: Path) -> Path:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    write_tokenizer(folder / "tokenizer")
    vocab_size = len(CLIPTokenizer.from_pretrained(folder / "tokenizer"))
    CLIPTextModel(text_config(vocab_size)).save_pretrained(folder / "text_encoder")
    UNet2DConditionModel(**TINY_UNET).save_pretrained(folder / "unet")
    AutoencoderKL(**TINY_VAE).save_pretrained(folder / "vae")
    return folder


def make_tiny_clip(folder: Path) -> Path:
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer, CLIPVisionConfig

    torch.manual_seed(1)
    write_tokenizer(folder)
    vocab_size = len(CLIPTokenizer.from_pretrained(folder))
    vision = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                              image_size=16, patch_size=8, projection_dim=16)
    config = CLIPConfig(text_config=text_config(vocab_size).to_dict(), vision_config=vision.to_dict(), projection_dim=16)
    CLIPModel(config).save_pretrained(folder)
    return folder
