"""The baselines on prompt-conditioned teachers. ESD: the weights it fine-tunes (against ESD's own code,
tests/fixtures/make_esd_reference.py), the prompts it erases, the Stable Diffusion configs end to end on tiny
networks. SalUn and Selective Amnesia: the teacher-generated sets pair each forget prompt with its override."""

import json

import numpy as np
import pytest
import torch
import yaml
from project import ROOT
from seeded_weights import seeded_module
from tiny_sd import make_tiny_clip, make_tiny_sd, tiny_sd_config

from sfd_lightning.baselines import ESDModule, SalUnModule, SelectiveAmnesiaModule
from sfd_lightning.baselines.esd import esd_parameters
from sfd_lightning.errors import ConfigError

REFERENCE = json.loads((ROOT / "tests" / "fixtures" / "esd_reference.json").read_text())
METHODS = ("esd-x", "esd-x-strict", "esd-u", "esd-all")
WORDS = ["a", "handwritten", "one", "seven", "three", "the", "digit"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-models")
    return make_tiny_sd(root / "sd"), make_tiny_clip(root / "clip")


def text_denoiser():
    from sfd_lightning.diffusion import VPDenoiser
    from sfd_lightning.models.components import TextUNet

    net = TextUNet(
        WORDS, in_channels=1, resolution=8, ch=8, ch_mult=(1, 2), num_res_blocks=1, attn_resolutions=(4,), norm_groups=4
    )
    return seeded_module(VPDenoiser(net), "esd text")


def prompt_data(batch_size=4):
    from sfd_lightning.data import PromptDataModule

    captions = ["a handwritten seven", "the digit seven", "a handwritten one", "the digit three", "a handwritten three"]
    return PromptDataModule(
        shape=(1, 8, 8), batch_size=batch_size, retained_prompts=captions, concept="seven", replacement="one"
    )


@pytest.mark.parametrize("architecture", ["tiny", "sd1"])
@pytest.mark.parametrize("method", METHODS)
def test_esd_fine_tunes_the_weights_esds_own_code_chooses(architecture, method):
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        unet = UNet2DConditionModel(**REFERENCE["architectures"][architecture])
    assert [name for name, _ in esd_parameters(unet, method)] == REFERENCE[architecture][method]


def test_esd_on_a_text_model_erases_each_batchs_forget_prompts():
    from sfd_lightning.losses.esd import esd_loss

    data = prompt_data()
    batch = data.batch_for(0)
    module = ESDModule(text_denoiser(), num_classes=None, forget_label=None, ddim_steps=4, batch_size=6)
    erased = module.erased(batch, 6, torch.device("cpu"))
    forget = batch["generator"]["forget_labels"]
    assert erased == [forget[i % len(forget)] for i in range(6)] and all("seven" in p for p in erased)
    assert (
        ESDModule(text_denoiser(), num_classes=None, forget_label=None, concept="seven").erased(batch, 3, "cpu")
        == ["seven"] * 3
    )

    z = torch.randn(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    batch["generator"]["z"] = z
    x, sigma = module.noisy_samples(z, erased, torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(module.student.parameters(), lr=1e-3)
    before = esd_loss(module.student, module.teacher, x, sigma, erased).mean().item()
    teacher = {k: v.clone() for k, v in module.teacher.state_dict().items()}
    for _ in range(5):
        optimizer.zero_grad()
        module.training_step(batch, 0).backward()
        optimizer.step()
    assert esd_loss(module.student, module.teacher, x, sigma, erased).mean().item() < before
    assert all(torch.equal(v, module.teacher.state_dict()[k]) for k, v in teacher.items())


def test_prompt_settings_that_do_not_fit_the_teacher_are_refused(tiny_denoiser):
    with pytest.raises(ConfigError, match="model.concept"):
        ESDModule(tiny_denoiser(num_classes=3), num_classes=3, forget_label=1, concept="seven")
    with pytest.raises(ConfigError, match="model.train_method.*selects no weights"):
        ESDModule(text_denoiser(), num_classes=None, forget_label=None, train_method="esd-x")
    with pytest.raises(ConfigError, match="model.train_method.*must be one of"):
        ESDModule(text_denoiser(), num_classes=None, forget_label=None, train_method="xattn")
    with pytest.raises(ConfigError, match="model.forget_label"):
        ESDModule(tiny_denoiser(num_classes=3), num_classes=3, forget_label=None)
    with pytest.raises(ConfigError, match="model.num_classes.*conditioned on prompts: set num_classes: null"):
        ESDModule(text_denoiser(), num_classes=10, forget_label=0)
    with pytest.raises(ConfigError, match="model.num_classes.*is null.*has 3 classes"):
        ESDModule(tiny_denoiser(num_classes=3), num_classes=None, forget_label=None)
    with pytest.raises(ConfigError, match="model.num_classes.*is 4 but the teacher network has 3"):
        SalUnModule(tiny_denoiser(num_classes=3), num_classes=4, forget_label=0)
    module = ESDModule(text_denoiser(), num_classes=None, forget_label=None)
    with pytest.raises(ConfigError, match="model.concept or a PromptDataModule"):
        module.erased({"generator": {"z": torch.zeros(2, 1, 8, 8), "labels": torch.zeros(2)}}, 2, "cpu")


def fitted(module, data, steps=1):
    """``module`` after ``steps`` training steps on ``data`` (CPU, no logger or checkpoints)."""
    from lightning.pytorch import Trainer

    Trainer(
        accelerator="cpu",
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    ).fit(module, datamodule=data)
    return module


def overrides_of(prompts):
    return [p.replace("seven", "one") for p in prompts]


def test_selective_amnesia_trains_each_forget_prompt_on_its_overrides_samples():
    data = prompt_data()
    module = fitted(
        SelectiveAmnesiaModule(
            text_denoiser(),
            num_classes=None,
            forget_label=None,
            surrogate="override",
            replay_per_class=2,
            fisher_batches=1,
            fisher_batch_size=4,
            batch_size=4,
            sample_steps=2,
        ),
        data,
    )
    assert set(module.surrogate_c) == set(data.forget_prompts) and all("seven" in p for p in module.surrogate_c)
    torch.testing.assert_close(
        module.surrogate_x, module.teacher_samples(overrides_of(module.surrogate_c), 2, (1, 8, 8))
    )
    assert module.replay_c == [p for p in data.retained_prompts for _ in range(2)]
    assert not any("seven" in p for p in module.replay_c) and len(module.fisher) == len(
        list(module.teacher.parameters())
    )


def test_salun_on_prompts_relabels_generated_forget_samples_with_their_overrides():
    data = prompt_data()
    module = fitted(
        SalUnModule(text_denoiser(), num_classes=None, forget_label=None, generated=6, sample_steps=2), data
    )
    assert module.pseudo_c == overrides_of(module.forget_c) and all("seven" in p for p in module.forget_c)
    assert module.kept_c == [data.retained_prompts[i % len(data.retained_prompts)] for i in range(6)]
    torch.testing.assert_close(module.forget_x, module.teacher_samples(module.forget_c, 1, (1, 8, 8)))
    share = torch.cat([m.flatten() for m in module.mask]).mean().item()
    assert 0.45 < share < 0.55  # half the weights salient
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    x, c = module.forget_x, module.forget_c
    assert module.relabel_loss(x, c, g(), pseudo=c).item() == 0  # the pseudo prompt is the target's condition
    assert module.relabel_loss(x, c, g(), pseudo=module.pseudo_c).item() > 0


def test_generated_sets_need_prompt_data():
    from sfd_lightning.data import NoiseLabelDataModule

    module = SelectiveAmnesiaModule(
        text_denoiser(), num_classes=None, forget_label=None, replay_per_class=1, sample_steps=2
    )
    with pytest.raises(ConfigError, match="needs a PromptDataModule"):
        fitted(module, NoiseLabelDataModule(shape=(1, 8, 8), batch_size=2, iterations=1, num_classes=3, forget_label=0))


def test_esd_x_on_stable_diffusion_moves_only_cross_attention(tiny):
    from sfd_lightning.diffusion import VPDenoiser, VPSchedule
    from sfd_lightning.models.components import LatentAutoencoder, SDUNet

    teacher = VPDenoiser(
        SDUNet(pretrained=str(tiny[0])), VPSchedule("scaled_linear", beta_start=0.00085, beta_end=0.012)
    )
    module = ESDModule(
        teacher,
        num_classes=None,
        forget_label=None,
        concept="brad pitt",
        train_method="esd-x",
        train_guidance=3.0,
        ddim_steps=3,
        sample_steps=2,
        sample_guidance=7.5,
        autoencoder=LatentAutoencoder(str(tiny[0])),
    )
    prefix = "student.net.unet."
    trainable = [n.removeprefix(prefix) for n, p in module.named_parameters() if p.requires_grad]
    assert sorted(trainable) == sorted(REFERENCE["tiny"]["esd-x"])
    before = {k: v.clone() for k, v in module.state_dict().items()}
    optimizer = module.configure_optimizers()
    batch = {"generator": {"z": torch.randn(2, 4, 8, 8), "labels": ["a bowl of ramen"] * 2}}
    for step in range(2):
        optimizer.zero_grad()
        module.training_step(batch, step).backward()
        optimizer.step()
    changed = {k.removeprefix(prefix) for k, v in module.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and changed <= set(REFERENCE["tiny"]["esd-x"])
    images = module.sample_images(torch.randn(2, 4, 8, 8), ["a photo of brad pitt", "a bowl of ramen"])
    assert images.shape == (2, 3, 16, 16)  # decoded by the autoencoder


SD_CONFIGS = {  # the Stable Diffusion baseline configs, with tiny sizes
    "sd_nudity_esd": dict(ddim_steps=3, sample_steps=2),
    "sd_celebrity_esd": dict(ddim_steps=3, sample_steps=2),
    "sd_nudity_salun": dict(generated=4, mask_batches=1, sample_steps=2),
    "sd_celebrity_sa": dict(replay_per_class=1, fisher_batches=1, fisher_batch_size=2, batch_size=2, sample_steps=2),
}


@pytest.mark.parametrize(
    "name",
    [
        n if n == "sd_nudity_esd" else pytest.param(n, marks=pytest.mark.slow)  # ~8 s each
        for n in sorted(SD_CONFIGS)
    ],
)
def test_two_step_fit_of_the_sd_baseline_configs(name, tiny, tmp_path, monkeypatch, capsys):
    from sfd_lightning.cli import main

    monkeypatch.chdir(ROOT)
    config = tiny_sd_config(f"baselines/{name}.yaml", tmp_path, tiny)
    config["model"]["init_args"].update(SD_CONFIGS[name])
    path = tmp_path / "esd.yaml"
    path.write_text(yaml.safe_dump(config))
    main(["fit", "--config", str(path)])
    assert "CLIP score, forget samples vs the concept prompt" in capsys.readouterr().out
    ckpt = next((tmp_path / "logs").rglob("last.ckpt"))
    state = torch.load(ckpt, weights_only=True, map_location="cpu")["state_dict"]
    assert any(k.startswith("student.net.unet.") for k in state)
    assert not any(k.startswith(("teacher.", "autoencoder.")) for k in state)  # rebuilt from the config, not stored

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
            "--steps",
            "2",
            "--out",
            str(out),
            "--device",
            "cpu",
        ]
    )
    assert np.load(out)["images"].shape == (4, 3, 16, 16)  # the fine-tuned latents, decoded by its autoencoder

    if name == "sd_nudity_esd":  # sfd benchmark on a baseline: its fine-tuned model by DDIM, beside the teacher
        main(
            [
                "benchmark",
                "--ckpt",
                str(ckpt),
                "--suite",
                "nudity",
                "--nudity-prompts",
                str(prompts),
                "--steps",
                "2",
                "--device",
                "cpu",
                "--out",
                str(tmp_path / "benchmark"),
            ]
        )
        data = json.loads((tmp_path / "benchmark" / "benchmark.json").read_text())
        assert data["models"] == {"ESD": "ESD, 2-step DDIM", "teacher": "teacher, 2-step DDIM"}
        assert data["suites"]["nudity"]["results"]["ESD"]["images"] == 2
