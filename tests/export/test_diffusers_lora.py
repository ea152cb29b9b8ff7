"""The LoRA file in kohya's layout (``lora_unet_<layer>.lora_down/lora_up/alpha``), on a UNet with Stable Diffusion
1.5's block layout (every layer name SD 1.5 has, at tiny widths): diffusers' own loader consumes every key and
puts on the base UNet exactly the adapters the generator has, alpha included."""

import re

import pytest
import torch
from safetensors.torch import load_file

from sfd_lightning.errors import ConfigError
from sfd_lightning.export.diffusers_lora import UNET, WEIGHTS, write_diffusers_lora
from sfd_lightning.models.lora import LoRA, lora_targets, merged_state_dict

SD15_LAYOUT = dict(
    sample_size=8,
    layers_per_block=2,
    block_out_channels=(8, 8, 16, 16),
    norm_num_groups=4,
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    cross_attention_dim=8,
    attention_head_dim=2,
)
RANK, ALPHA = 2, 6.0  # alpha != rank: a loader that drops alpha scales the adapters by 1 instead of 3


def sd15_unet(seed: int = 0):
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    return UNet2DConditionModel(**SD15_LAYOUT).eval()


@pytest.fixture(scope="module")
def generator_unet():
    """The UNet with rank-2 adapters on every Linear and Conv2d layer, ``lora_B`` random (peft starts it at 0)."""
    unet = sd15_unet()
    layers = lora_targets(unet)
    LoRA(rank=RANK, alpha=ALPHA).adapt(unet)
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in unet.named_parameters():
            if ".lora_B." in name:
                p.normal_(0, 0.1)
    return unet, layers


def checkpoint_of(unet, lora=None):
    """An SFD LoRA checkpoint's fields the export reads, with ``unet`` as the EMA generator's UNet."""
    return {
        "hyper_parameters": {"lora": lora or {"rank": RANK, "alpha": ALPHA}},
        "state_dict": {UNET + k: v for k, v in unet.state_dict().items()},
    }


def test_every_adapted_layer_is_written_under_its_kohya_name_with_its_alpha(generator_unet, tmp_path):
    unet, layers = generator_unet
    assert write_diffusers_lora(checkpoint_of(unet), str(tmp_path)) == WEIGHTS
    state = load_file(tmp_path / WEIGHTS)
    names = {"lora_unet_" + layer.replace(".", "_") for layer in layers}
    assert set(state) == {f"{n}.{part}" for n in names for part in ("lora_down.weight", "lora_up.weight", "alpha")}
    assert all(state[f"{n}.alpha"].shape == () and state[f"{n}.alpha"].item() == ALPHA for n in names)
    q = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"
    assert q in names and state[q + ".lora_down.weight"].shape == (RANK, 8)  # (r, in): peft's lora_A
    conv = "lora_unet_up_blocks_3_resnets_2_conv1"
    assert conv in names and state[conv + ".lora_up.weight"].shape == (8, RANK, 1, 1)


def test_diffusers_loads_every_key_and_draws_the_generators_weights(generator_unet, tmp_path):
    from diffusers import StableDiffusionPipeline

    unet, layers = generator_unet
    write_diffusers_lora(checkpoint_of(unet), str(tmp_path))
    state, alphas = StableDiffusionPipeline.lora_state_dict(
        str(tmp_path), weight_name=WEIGHTS
    )  # raises on keys it cannot name
    assert len(alphas) == len(layers) and set(alphas.values()) == {ALPHA}
    base = sd15_unet()
    StableDiffusionPipeline.load_lora_into_unet(state, alphas, unet=base)
    loaded = {re.sub(r"\.lora_[AB]\..*", "", k) for k in base.state_dict() if ".lora_A." in k}
    assert loaded == set(layers)
    ours, theirs = merged_state_dict(unet), merged_state_dict(base)
    assert set(ours) == set(theirs)
    for key in ours:  # the same A, B and alpha / r go through the same merge: equal to the bit
        assert torch.equal(ours[key], theirs[key]), key


def test_alpha_null_means_alpha_equal_to_the_rank(generator_unet, tmp_path):
    unet, _ = generator_unet
    write_diffusers_lora(checkpoint_of(unet, {"rank": RANK, "alpha": None}), str(tmp_path))
    state = load_file(tmp_path / WEIGHTS)
    assert {v.item() for k, v in state.items() if k.endswith(".alpha")} == {float(RANK)}


def test_no_file_without_lora_or_for_a_two_stage_run(generator_unet, tmp_path):
    unet, _ = generator_unet
    assert write_diffusers_lora({"hyper_parameters": {}, "state_dict": {}}, str(tmp_path)) is None
    two_stage = checkpoint_of(unet)
    two_stage["hyper_parameters"]["init_ckpt"] = "stage1.ckpt"
    assert write_diffusers_lora(two_stage, str(tmp_path)) is None
    assert not (tmp_path / WEIGHTS).exists()


def test_an_adapter_tensor_of_another_kind_is_refused_in_one_line(generator_unet, tmp_path):
    unet, _ = generator_unet
    ckpt = checkpoint_of(unet)
    ckpt["state_dict"][UNET + "conv_in.lora_magnitude_vector.default.weight"] = torch.ones(8)
    with pytest.raises(ConfigError, match="lora_magnitude_vector"):
        write_diffusers_lora(ckpt, str(tmp_path))
