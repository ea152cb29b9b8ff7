"""An exported Stable Diffusion generator in stock diffusers: the model card's recipe (one DDPM step at t_init from
scaled latents) with the exported UNet, or with the exported LoRA on the base UNet, draws ``sfd sample``'s images."""

import json
import re

import pytest
import torch
import yaml
from project import ROOT
from tiny_sd import make_tiny_clip, make_tiny_sd, stock_pipeline, tiny_sd_config

from sfd_lightning import load_generator
from sfd_lightning.cli import main
from sfd_lightning.models.lora import merged_state_dict

PROMPTS = ["a photo of a cat", "a red car"]


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory):
    """A two-iteration LoRA SFD run on the tiny SD, with a learning rate that moves its adapters, exported."""
    root = tmp_path_factory.mktemp("lora_sd")
    tiny = (make_tiny_sd(root / "sd"), make_tiny_clip(root / "clip"))
    config = tiny_sd_config("sd_nudity_forget.yaml", root, tiny)
    config["trainer"]["callbacks"] = [c for c in config["trainer"]["callbacks"] if "Nudity" not in str(c)]
    model = config["model"]["init_args"]
    model["lora"] = {"rank": 2, "alpha": 4}
    for opt in ("generator_optimizer", "fake_score_optimizer"):
        model[opt]["init_args"]["lr"] = 0.05
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        mp.setenv("SFD_CACHE_DIR", str(root / "user_cache"))
        main(["fit", "--config", str(root / "config.yaml")])
        main(["export", "--ckpt", str(next((root / "logs").rglob("last.ckpt"))), "--out", str(root / "exported")])
    return root / "sd", root / "exported"


def recipe(folder):
    """The card's noise scale and timestep, read from its code."""
    card = (folder / "README.md").read_text()
    scale, t_init = re.search(r"latents=([0-9.]+) \* z, timesteps=\[(\d+)\]", card).groups()
    return float(scale), int(t_init)


def ours_and_stock(folder, pipe):
    generator = load_generator(str(folder))
    z = torch.randn((len(PROMPTS), *generator.shape), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = (generator.decode(generator.generator(z, PROMPTS)).clamp(-1, 1) + 1) / 2
    scale, t_init = recipe(folder)
    stock = pipe(PROMPTS, latents=scale * z, timesteps=[t_init], guidance_scale=1.0, output_type="pt").images
    return ours, stock


def test_the_exported_lora_on_the_base_unet_draws_the_generators_images(lora_run):
    base, folder = lora_run
    assert (folder / "pytorch_lora_weights.safetensors").is_file()
    pipe = stock_pipeline(base)
    ours, without = ours_and_stock(folder, pipe)
    assert (ours - without).abs().max() > 1e-3  # the adapters change the images: the next check could fail
    pipe.load_lora_weights(str(folder), weight_name="pytorch_lora_weights.safetensors")
    _, stock = ours_and_stock(folder, pipe)
    torch.testing.assert_close(stock, ours, rtol=0, atol=1e-4)
    assert json.loads((folder / "sfd_generator.json").read_text())["t_init"] == recipe(folder)[1]


def test_the_exported_lora_merged_on_the_base_unet_is_the_exported_unet(lora_run):
    """Every adapter and its alpha reach diffusers: base + (alpha / r) up @ down is the generator's UNet, to the bit
    (the same float32 product and sum the export's merge computes)."""
    from diffusers import UNet2DConditionModel

    base, folder = lora_run
    pipe = stock_pipeline(base)
    pipe.load_lora_weights(str(folder))  # the file name diffusers looks for by default
    merged = merged_state_dict(pipe.unet)
    exported = UNet2DConditionModel.from_pretrained(folder, subfolder="unet").state_dict()
    assert set(merged) == set(exported)
    start = UNet2DConditionModel.from_pretrained(base, subfolder="unet").state_dict()
    assert any(not torch.equal(exported[k], start[k]) for k in exported)  # the run moved it: the check below could fail
    for key in exported:
        assert torch.equal(merged[key], exported[key]), key


def test_the_exported_unet_in_a_stock_pipeline_draws_the_generators_images(lora_run):
    from diffusers import UNet2DConditionModel

    base, folder = lora_run
    ours, stock = ours_and_stock(
        folder, stock_pipeline(base, UNet2DConditionModel.from_pretrained(folder, subfolder="unet"))
    )
    torch.testing.assert_close(stock, ours, rtol=0, atol=1e-4)


def test_a_full_fine_tuning_run_has_no_lora_file_and_its_card_the_unet_recipe(tiny_sd_run, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    main(["export", "--ckpt", str(tiny_sd_run[0]), "--out", str(tmp_path / "full")])
    card = (tmp_path / "full" / "README.md").read_text()
    assert not (tmp_path / "full" / "pytorch_lora_weights.safetensors").exists() and "load_lora_weights" not in card
    assert 'subfolder="unet"' in card and "## Use with stock diffusers" in card
