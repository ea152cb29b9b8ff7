"""The single-file checkpoint of ``sfd export`` (the original Stable Diffusion layout, for ComfyUI and AUTOMATIC1111):
diffusers' own single-file loaders read back exactly the tensors written, the names are the original checkpoint's
at SD 1.5's size, and only Stable Diffusion runs get one."""

import json
import os
import stat

import pytest
import torch
from process_limits import umask
from project import ROOT
from tiny_sd import make_tiny_sd

from sfd_lightning.cli import main
from sfd_lightning.export.ldm_layout import unet_table, vae_attention_as_conv, vae_table
from sfd_lightning.export.single_file import SINGLE_FILE, TEXT, UNET, VAE, single_file_state, text_to_ldm, to_ldm

# what StableDiffusionPipeline.from_single_file reads from a config folder besides the components' configs
MODEL_INDEX = {
    "_class_name": "StableDiffusionPipeline",
    "feature_extractor": [None, None],
    "safety_checker": [None, None],
    "requires_safety_checker": False,
    "scheduler": ["diffusers", "DDPMScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"],
}
SD15_VAE = dict(
    block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    layers_per_block=2,
    latent_channels=4,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny random SD folder (configs only are read from it), and its UNet, VAE and text encoder moved to other
    random weights and written as one file: what is read back can only come from the file."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPTextModel

    root = tmp_path_factory.mktemp("single_file")
    folder = make_tiny_sd(root / "sd")
    (folder / "model_index.json").write_text(json.dumps(MODEL_INDEX))
    models = {
        "unet": UNet2DConditionModel.from_pretrained(folder, subfolder="unet"),
        "vae": AutoencoderKL.from_pretrained(folder, subfolder="vae"),
        "text_encoder": CLIPTextModel.from_pretrained(folder, subfolder="text_encoder"),
    }
    torch.manual_seed(3)
    with torch.no_grad():
        for model in models.values():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
    save_file(single_file_state(models["unet"], models["vae"], models["text_encoder"]), root / SINGLE_FILE)
    return folder, root / SINGLE_FILE, models


def assert_same_weights(loaded, written):
    expected = written.state_dict()
    got = loaded.state_dict()
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(got[key], value), key


def test_diffusers_single_file_loaders_read_back_the_unet_and_vae_exactly(tiny):
    from diffusers import AutoencoderKL, UNet2DConditionModel

    folder, path, models = tiny
    for cls, name in ((UNet2DConditionModel, "unet"), (AutoencoderKL, "vae")):
        loaded = cls.from_single_file(str(path), config=str(folder), subfolder=name, local_files_only=True)
        assert_same_weights(loaded, models[name])


@pytest.mark.filterwarnings("ignore:The configuration file of this scheduler")  # the tiny SD's steps_offset
def test_the_stock_pipeline_reads_back_all_three_models_exactly(tiny):
    from diffusers import StableDiffusionPipeline

    folder, path, models = tiny
    pipe = StableDiffusionPipeline.from_single_file(str(path), config=str(folder), local_files_only=True)
    for name, written in models.items():
        assert_same_weights(getattr(pipe, name), written)


def shapes(state):
    return {k: tuple(v.shape) for k, v in state.items()}


def test_an_sd15_sized_unet_and_vae_get_the_original_checkpoints_names():
    """On the meta device (no memory): the names of SD 1.5's original checkpoint (686 UNet, 248 VAE tensors; the
    downsamplers, upsamplers, mid blocks and shortcuts by their LDM indices), back to diffusers' by its converter."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint
    from random_pipelines import SD15_UNET

    with torch.device("meta"):
        unet, vae = UNet2DConditionModel(**SD15_UNET), AutoencoderKL(**SD15_VAE)
    unet_state, vae_state = unet.state_dict(), vae.state_dict()
    ldm = to_ldm(unet_state, unet_table(unet.config, unet_state), UNET, "UNet")
    assert len(ldm) == 686 and shapes(convert_ldm_unet_checkpoint(ldm, unet.config)) == shapes(unet_state)
    names = (
        "input_blocks.3.0.op.weight",
        "input_blocks.11.0.out_layers.3.weight",
        "middle_block.1.proj_out.weight",
        "middle_block.2.emb_layers.1.weight",
        "output_blocks.2.1.conv.weight",
        "output_blocks.5.2.conv.weight",
        "output_blocks.8.2.conv.weight",
        "output_blocks.11.0.skip_connection.weight",
        "time_embed.2.bias",
        "out.2.weight",
    )
    assert all(UNET + name in ldm for name in names)
    ldm = {k: vae_attention_as_conv(k, v) for k, v in to_ldm(vae_state, vae_table(vae.config), VAE, "VAE").items()}
    assert len(ldm) == 248 and shapes(convert_ldm_vae_checkpoint(ldm, vae.config)) == shapes(vae_state)
    names = (
        "encoder.down.1.block.0.nin_shortcut.weight",
        "encoder.down.2.downsample.conv.weight",
        "encoder.norm_out.bias",
        "decoder.up.3.upsample.conv.weight",
        "decoder.up.0.block.2.conv2.weight",
        "decoder.mid.block_2.norm1.weight",
    )
    assert all(VAE + name in ldm for name in names)
    assert all(
        ldm[f"{VAE}{part}.mid.attn_1.{p}.weight"].shape == (512, 512, 1, 1)
        for part in ("encoder", "decoder")
        for p in ("q", "k", "v", "proj_out")
    )


def test_a_layer_count_per_block_numbers_the_ldm_layers_in_one_sequence():
    """``layers_per_block=(1, 2)``, worked out by hand: input_blocks 1 (resnet, transformer), 2 (downsampler), 3, 4;
    the up blocks (2 + 1, then 1 + 1 layers) output_blocks 0-2 (the upsampler after the last, no transformer), 3-4."""
    from diffusers import UNet2DConditionModel
    from tiny_sd import TINY_UNET

    with torch.device("meta"):
        unet = UNet2DConditionModel(**{**TINY_UNET, "layers_per_block": (1, 2)})
    state = unet.state_dict()
    ldm = to_ldm(state, unet_table(unet.config, state), "", "UNet")
    blocks = {".".join(k.split(".")[:3]) for k in ldm if k.startswith(("input_blocks", "output_blocks"))}
    assert blocks == {
        "input_blocks.0.0",
        "input_blocks.1.0",
        "input_blocks.1.1",
        "input_blocks.2.0",
        "input_blocks.3.0",
        "input_blocks.4.0",
        "output_blocks.0.0",
        "output_blocks.1.0",
        "output_blocks.2.0",
        "output_blocks.2.1",
        "output_blocks.3.0",
        "output_blocks.3.1",
        "output_blocks.4.0",
        "output_blocks.4.1",
    }
    assert "input_blocks.2.0.op.weight" in ldm and "output_blocks.2.1.conv.weight" in ldm and len(ldm) == len(state)


def test_sfd_export_of_a_stable_diffusion_run_writes_the_generators_unet_with_the_runs_vae_and_text_encoder(
    tiny_sd_run, tmp_path, monkeypatch
):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from safetensors.torch import load_file
    from transformers import CLIPTextModel

    monkeypatch.chdir(ROOT)
    ckpt = tiny_sd_run[0]
    base = next(p for p in ckpt.parents if (p / "logs").is_dir()) / "sd"  # the tiny SD the run used
    out = tmp_path / "exported"
    with umask(0o022):
        main(["export", "--ckpt", str(ckpt), "--out", str(out)])
    modes = {stat.S_IMODE(os.stat(p).st_mode) for p in out.rglob("*") if p.is_file()}
    assert modes == {0o644} and {stat.S_IMODE(os.stat(p).st_mode) for p in [out, out / "unet"]} == {0o755}
    path = out / SINGLE_FILE
    unet = UNet2DConditionModel.from_single_file(str(path), config=str(out), subfolder="unet", local_files_only=True)
    assert_same_weights(unet, UNet2DConditionModel.from_pretrained(out, subfolder="unet"))
    vae = AutoencoderKL.from_single_file(str(path), config=str(base), subfolder="vae", local_files_only=True)
    assert_same_weights(vae, AutoencoderKL.from_pretrained(base, subfolder="vae"))
    stored = load_file(path)
    text = text_to_ldm(CLIPTextModel.from_pretrained(base, subfolder="text_encoder"))
    assert all(torch.equal(stored[k], v) for k, v in text.items())
    assert len(stored) == len(unet.state_dict()) + len(vae.state_dict()) + len(text)
    assert {k.split(".")[0] for k in stored} == {p.split(".")[0] for p in (UNET, VAE, TEXT)}
    assert SINGLE_FILE in (out / "README.md").read_text()


def test_a_digits_runs_export_has_no_single_file(short_digits_run, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "exported"
    main(["export", "--ckpt", str(short_digits_run), "--out", str(out)])
    assert (out / "model.safetensors").is_file() and not (out / SINGLE_FILE).exists()
    assert "ComfyUI" not in (out / "README.md").read_text()


def test_a_dit_generator_has_no_single_file(tiny, tmp_path):
    """What ``rebuild`` gives for a DiT run (a transformer, no UNet or text encoder, and a VAE) writes nothing."""
    from sfd_lightning.diffusion import VPDenoiser
    from sfd_lightning.export.single_file import write_single_file
    from sfd_lightning.models.components import DiTEps, LatentAutoencoder

    dit = dict(
        num_attention_heads=1,
        attention_head_dim=8,
        in_channels=4,
        out_channels=8,
        num_layers=1,
        sample_size=8,
        patch_size=2,
        num_embeds_ada_norm=1000,
        norm_num_groups=8,
    )
    denoiser = VPDenoiser(DiTEps(pretrained=None, config=dit))
    assert write_single_file(denoiser, LatentAutoencoder(pretrained=str(tiny[0])), str(tmp_path)) is None
    assert list(tmp_path.iterdir()) == []
