"""Randomly initialised SDXL, SD3 and FLUX.1 pipeline folders (diffusers layout), for checks without downloads.

``*_FULL`` are the published architectures (the hub's config.json of SDXL 1.0, SD3-medium and FLUX.1-dev), for
memory and speed at full size; ``tiny_*`` are small networks of the same classes for correctness. Tokenizers
are character-level (``write_tokenizer``; a character unigram for T5), so any lowercase prompt encodes.
"""

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

from random_pipelines import write_index, write_tokenizer

SDXL_UNET_FULL = dict(
    sample_size=128,
    in_channels=4,
    out_channels=4,
    layers_per_block=2,
    block_out_channels=(320, 640, 1280),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    transformer_layers_per_block=(1, 2, 10),
    attention_head_dim=(5, 10, 20),
    cross_attention_dim=2048,
    use_linear_projection=True,
    addition_embed_type="text_time",
    addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=2816,
)
CLIP_L = dict(
    hidden_size=768,
    intermediate_size=3072,
    num_hidden_layers=12,
    num_attention_heads=12,
    max_position_embeddings=77,
    projection_dim=768,
    hidden_act="quick_gelu",
)
CLIP_G = dict(
    hidden_size=1280,
    intermediate_size=5120,
    num_hidden_layers=32,
    num_attention_heads=20,
    max_position_embeddings=77,
    projection_dim=1280,
    hidden_act="gelu",
)
T5_XXL = dict(d_model=4096, d_ff=10240, d_kv=64, num_heads=64, num_layers=24, feed_forward_proj="gated-gelu")
SD3_TRANSFORMER_FULL = dict(
    sample_size=128,
    patch_size=2,
    in_channels=16,
    num_layers=24,
    attention_head_dim=64,
    num_attention_heads=24,
    joint_attention_dim=4096,
    caption_projection_dim=1536,
    pooled_projection_dim=2048,
    out_channels=16,
    pos_embed_max_size=192,
)
FLUX_TRANSFORMER_FULL = dict(
    patch_size=1,
    in_channels=64,
    num_layers=19,
    num_single_layers=38,
    attention_head_dim=128,
    num_attention_heads=24,
    joint_attention_dim=4096,
    pooled_projection_dim=768,
    guidance_embeds=True,
    axes_dims_rope=(16, 56, 56),
)

TINY_CLIP = dict(
    hidden_size=16,
    intermediate_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    max_position_embeddings=77,
    projection_dim=16,
)
TINY_T5 = dict(d_model=32, d_ff=64, d_kv=8, num_heads=4, num_layers=2)
TINY_SDXL_UNET = dict(
    sample_size=8,
    in_channels=4,
    out_channels=4,
    layers_per_block=1,
    block_out_channels=(16, 32),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    transformer_layers_per_block=(1, 1),
    attention_head_dim=(2, 4),
    cross_attention_dim=32,
    use_linear_projection=True,
    addition_embed_type="text_time",
    addition_time_embed_dim=8,
    projection_class_embeddings_input_dim=16 + 6 * 8,
    norm_num_groups=8,
)
TINY_SD3_TRANSFORMER = dict(
    sample_size=8,
    patch_size=2,
    in_channels=4,
    num_layers=1,
    attention_head_dim=8,
    num_attention_heads=2,
    joint_attention_dim=32,
    caption_projection_dim=16,
    pooled_projection_dim=32,
    out_channels=4,
    pos_embed_max_size=16,
)
TINY_FLUX_TRANSFORMER = dict(
    patch_size=1,
    in_channels=16,
    num_layers=1,
    num_single_layers=1,
    attention_head_dim=16,
    num_attention_heads=2,
    joint_attention_dim=32,
    pooled_projection_dim=16,
    guidance_embeds=True,
    axes_dims_rope=(4, 6, 6),
)
TINY_VAE = dict(
    block_out_channels=(8, 16),
    down_block_types=("DownEncoderBlock2D",) * 2,
    up_block_types=("UpDecoderBlock2D",) * 2,
    latent_channels=4,
    norm_num_groups=8,
    sample_size=16,
)


def write_t5_tokenizer(folder: Path) -> int:
    """A T5 tokenizer whose vocabulary is single characters (unigram, no merges); returns its size."""
    from transformers import T5Tokenizer

    symbols = string.ascii_lowercase + string.digits
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [("\u2581" + c, -1.0) for c in symbols]
    vocab += [(c, -2.0) for c in symbols + ",.!'-"]
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0)
    tokenizer.save_pretrained(folder)
    return len(tokenizer)


def write_clip(folder: Path, config: Dict[str, Any], projection: bool) -> None:
    """A CLIP text encoder (with the text projection: ``CLIPTextModelWithProjection``) and its tokenizer."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    name = folder.name.replace("text_encoder", "tokenizer")
    vocab_size = write_tokenizer(folder.parent / name, config["max_position_embeddings"])
    cls = CLIPTextModelWithProjection if projection else CLIPTextModel
    ids = dict(bos_token_id=0, eos_token_id=1, pad_token_id=1)  # the character vocabulary's start and end tokens
    cls(CLIPTextConfig(vocab_size=vocab_size, **ids, **config)).save_pretrained(folder)


def write_t5(folder: Path, config: Dict[str, Any]) -> None:
    from transformers import T5Config, T5EncoderModel

    vocab_size = write_t5_tokenizer(folder.parent / folder.name.replace("text_encoder", "tokenizer"))
    T5EncoderModel(T5Config(vocab_size=vocab_size, **config)).save_pretrained(folder)


def write_vae(folder: Path, vae: Optional[Dict[str, Any]], **factors: float) -> None:
    from diffusers import AutoencoderKL

    if vae is not None:
        AutoencoderKL(**vae, **factors).save_pretrained(folder / "vae")


def write_random_sdxl(
    folder: Path,
    unet: Dict[str, Any] = TINY_SDXL_UNET,
    clip_l: Dict[str, Any] = TINY_CLIP,
    clip_g: Dict[str, Any] = TINY_CLIP,
    vae: Optional[Dict[str, Any]] = TINY_VAE,
) -> Path:
    """SDXL: UNet with added conditions, CLIP-L (``text_encoder``) and CLIP-G with projection (``text_encoder_2``)."""
    from diffusers import EulerDiscreteScheduler, UNet2DConditionModel

    write_clip(folder / "text_encoder", clip_l, projection=False)
    write_clip(folder / "text_encoder_2", clip_g, projection=True)
    UNet2DConditionModel(**unet).save_pretrained(folder / "unet")
    EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear").save_pretrained(
        folder / "scheduler"
    )
    write_vae(folder, vae, scaling_factor=0.13025)
    write_index(
        folder,
        "StableDiffusionXLPipeline",
        {
            "unet": ("diffusers", "UNet2DConditionModel"),
            "text_encoder": ("transformers", "CLIPTextModel"),
            "text_encoder_2": ("transformers", "CLIPTextModelWithProjection"),
            "tokenizer": ("transformers", "CLIPTokenizer"),
            "tokenizer_2": ("transformers", "CLIPTokenizer"),
            "scheduler": ("diffusers", "EulerDiscreteScheduler"),
            "vae": ("diffusers", "AutoencoderKL"),
        },
    )
    return folder


def write_random_sd3(
    folder: Path,
    transformer: Dict[str, Any] = TINY_SD3_TRANSFORMER,
    clip_l: Dict[str, Any] = TINY_CLIP,
    clip_g: Dict[str, Any] = TINY_CLIP,
    t5: Dict[str, Any] = TINY_T5,
    vae: Optional[Dict[str, Any]] = TINY_VAE,
) -> Path:
    """SD3: MMDiT transformer, CLIP-L and CLIP-G with projections, T5 (``text_encoder_3``); shift 3."""
    from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel

    write_clip(folder / "text_encoder", clip_l, projection=True)
    write_clip(folder / "text_encoder_2", clip_g, projection=True)
    write_t5(folder / "text_encoder_3", t5)
    SD3Transformer2DModel(**transformer).save_pretrained(folder / "transformer")
    FlowMatchEulerDiscreteScheduler(shift=3.0).save_pretrained(folder / "scheduler")
    write_vae(
        folder,
        None if vae is None else {**vae, "latent_channels": transformer["in_channels"]},
        scaling_factor=1.5305,
        shift_factor=0.0609,
    )
    write_index(
        folder,
        "StableDiffusion3Pipeline",
        {
            "transformer": ("diffusers", "SD3Transformer2DModel"),
            "text_encoder": ("transformers", "CLIPTextModelWithProjection"),
            "text_encoder_2": ("transformers", "CLIPTextModelWithProjection"),
            "text_encoder_3": ("transformers", "T5EncoderModel"),
            "tokenizer": ("transformers", "CLIPTokenizer"),
            "tokenizer_2": ("transformers", "CLIPTokenizer"),
            "tokenizer_3": ("transformers", "T5Tokenizer"),
            "scheduler": ("diffusers", "FlowMatchEulerDiscreteScheduler"),
            "vae": ("diffusers", "AutoencoderKL"),
        },
    )
    return folder


def write_random_flux(
    folder: Path,
    transformer: Dict[str, Any] = TINY_FLUX_TRANSFORMER,
    clip_l: Dict[str, Any] = TINY_CLIP,
    t5: Dict[str, Any] = TINY_T5,
    vae: Optional[Dict[str, Any]] = TINY_VAE,
) -> Path:
    """FLUX.1: transformer over 2 x 2 latent patches, CLIP-L (pooled) and T5 (``text_encoder_2``); dev's dynamic
    shift."""
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxTransformer2DModel

    write_clip(folder / "text_encoder", clip_l, projection=False)
    write_t5(folder / "text_encoder_2", t5)
    FluxTransformer2DModel(**transformer).save_pretrained(folder / "transformer")
    FlowMatchEulerDiscreteScheduler(
        use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15, base_image_seq_len=256, max_image_seq_len=4096
    ).save_pretrained(folder / "scheduler")
    write_vae(
        folder,
        None if vae is None else {**vae, "latent_channels": transformer["in_channels"] // 4},
        scaling_factor=0.3611,
        shift_factor=0.1159,
    )
    write_index(
        folder,
        "FluxPipeline",
        {
            "transformer": ("diffusers", "FluxTransformer2DModel"),
            "text_encoder": ("transformers", "CLIPTextModel"),
            "text_encoder_2": ("transformers", "T5EncoderModel"),
            "tokenizer": ("transformers", "CLIPTokenizer"),
            "tokenizer_2": ("transformers", "T5Tokenizer"),
            "scheduler": ("diffusers", "FlowMatchEulerDiscreteScheduler"),
            "vae": ("diffusers", "AutoencoderKL"),
        },
    )
    return folder


def encode_sdxl_prompts(pipeline, prompts, **kwargs) -> Tuple[Any, Any]:
    """SDXL's pipeline's own prompt encoding: token and pooled embeddings."""
    embeds, _, pooled, _ = pipeline.encode_prompt(prompts, device="cpu", do_classifier_free_guidance=False, **kwargs)
    return embeds, pooled


def encode_sd3_prompts(pipeline, prompts, **kwargs) -> Tuple[Any, Any]:
    """SD3's pipeline's own prompt encoding (its second and third prompts: the first's)."""
    embeds, _, pooled, _ = pipeline.encode_prompt(
        prompts, None, None, device="cpu", do_classifier_free_guidance=False, **kwargs
    )
    return embeds, pooled


def encode_flux_prompts(pipeline, prompts, **kwargs) -> Tuple[Any, Any]:
    """FLUX.1's pipeline's own prompt encoding (its text ids left out)."""
    embeds, pooled, _ = pipeline.encode_prompt(prompts, None, device="cpu", **kwargs)
    return embeds, pooled


@dataclass(frozen=True)
class TinyFamily:
    """A family's tiny random pipeline as tests/models/components/test_pipeline_families.py uses it."""

    prefix: str  # its configs' names: configs/<prefix>_<task>_forget.yaml
    write: Callable[[Path], Path]  # writes the tiny pipeline folder
    encode_prompts: Callable[..., Tuple[Any, Any]]  # the family pipeline's own encode_prompt: the embeddings' reference
    net: Dict[str, Any] = field(default_factory=dict)  # network arguments the tiny pipeline always needs
    text: Dict[str, Any] = field(default_factory=dict)  # text arguments for short tiny prompts (and encode_prompts')
    fit: Dict[str, Any] = field(default_factory=dict)  # network arguments a two-step fit of a shipped config adds
    schedule: Dict[str, Any] = field(default_factory=dict)  # the teacher schedule's arguments for the tiny latents


# backbone class name -> its tiny pipeline; every PipelineNetwork has one (test_pipeline_families checks)
TINY_FAMILIES = {
    "SDXLUNet": TinyFamily(
        "sdxl",
        write_random_sdxl,
        encode_sdxl_prompts,
        fit=dict(vae_scale_factor=2),  # the tiny VAE's (two blocks): the time ids state the pixel size
    ),
    "SD3Transformer": TinyFamily("sd3", write_random_sd3, encode_sd3_prompts, text=dict(max_sequence_length=16)),
    "FluxTransformer": TinyFamily(
        "flux",
        write_random_flux,
        encode_flux_prompts,
        net=dict(resolution=8),
        text=dict(max_sequence_length=16),
        schedule=dict(image_tokens=16),  # 8 x 8 latents: 4 x 4 patches
    ),
}
