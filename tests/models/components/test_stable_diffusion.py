"""Stable Diffusion through diffusers, CLIP score, and few-step fits of the SD configs, on a tiny random
SD and a tiny CLIP built here (tokenizer from a vocabulary the test writes; see helpers/tiny_sd.py)."""

import copy

import pytest
import torch
import yaml
from project import ROOT
from sfd_modules import record_step_inputs
from tiny_sd import make_tiny_clip, make_tiny_sd, sample_two_prompts, tiny_sd_config


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-models")
    return make_tiny_sd(root / "sd"), make_tiny_clip(root / "clip")


def test_text_encoder_is_frozen_shared_cached_and_not_checkpointed(tiny):
    from sfd_lightning.models.components import SDUNet

    net = SDUNet(pretrained=str(tiny[0]), negative_prompt="blurry")
    other = copy.deepcopy(net)
    assert other.text is net.text and not any(p.requires_grad for p in net.text.encoder.parameters())
    assert not any(k.startswith("text") for k in net.state_dict())
    x, t = torch.randn(3, 4, 8, 8), torch.tensor([10.0, 400.0, 900.0])
    out = net(x, t, ["a photo of brad pitt", "", "a photo of brad pitt"])
    assert out.shape == x.shape
    assert set(net.text.cache) == {"a photo of brad pitt", "blurry"}  # "" is the negative prompt; repeats encoded once
    torch.testing.assert_close(net(x[1:2], t[1:2], [""]), net(x[1:2], t[1:2], ["blurry"]))
    with pytest.raises(TypeError, match="conditioned on prompts"):
        net(x, t, torch.tensor([0, 1, 2]))


def test_v_prediction_adapter_matches_eps_algebra():
    """VPDenoiser(prediction=v): a network returning the true v gives back x0 exactly."""
    from sfd_lightning.diffusion import VPDenoiser, VPSchedule

    schedule = VPSchedule("scaled_linear", beta_start=0.00085, beta_end=0.012)
    x0, eps = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    sigma = schedule.sigmas[torch.tensor([100, 700])].view(-1, 1, 1, 1)
    a, b = (1 + sigma**2).rsqrt(), sigma * (1 + sigma**2).rsqrt()
    v_true = a * eps - b * x0

    class Oracle(torch.nn.Module):
        def forward(self, x_t, t, labels):
            return v_true

    x0_hat = VPDenoiser(Oracle(), schedule, prediction="v")(x0 + sigma * eps, sigma.flatten(), None)
    torch.testing.assert_close(x0_hat, x0, atol=1e-4, rtol=1e-4)


def test_clip_score_on_a_tiny_clip(tiny):
    from sfd_lightning.callbacks import CLIPScore

    metric = CLIPScore(str(tiny[1]))
    images = torch.rand(4, 3, 16, 16) * 2 - 1
    scores = metric.scores(images, ["a cat", "a dog", "a cat", "a house"])
    assert scores.shape == (4,) and (scores >= 0).all() and (scores <= 100).all()
    torch.testing.assert_close(metric.scores(images[:1], ["a cat"]), scores[:1])
    metric.update(images, ["a cat"] * 4)
    metric.update(images[:2], ["a dog"] * 2)
    expected = (
        torch.cat([metric.scores(images, ["a cat"] * 4), metric.scores(images[:2], ["a dog"] * 2)]).double().mean()
    )
    torch.testing.assert_close(metric.compute(), expected)


def test_clip_score_refuses_nan_images_after_scoring_the_rest(tiny):
    from sfd_lightning.callbacks import CLIPScore
    from sfd_lightning.data.finite import NonFiniteImagesError

    metric = CLIPScore(str(tiny[1]))
    images = torch.rand(3, 3, 16, 16) * 2 - 1
    images[1, 0, 0, 0] = float("nan")
    metric.update(images, ["a cat", "a dog", "a house"])  # no raise on one rank alone: counted, refused at compute
    assert int(metric.count) == 2
    with pytest.raises(NonFiniteImagesError, match="CLIPScoreCallback: 1 of 3 generated images are not finite"):
        metric.compute()


@pytest.mark.parametrize("name", ["sd_celebrity_forget.yaml", "sd_celebrities_forget.yaml", "sd_nudity_forget.yaml"])
def test_few_step_fit_of_the_sd_configs(name, tiny, tmp_path, monkeypatch, capsys):
    from sfd_lightning.cli import main

    monkeypatch.chdir(ROOT)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(tiny_sd_config(name, tmp_path, tiny)))
    main(["fit", "--config", str(path)])
    printed = capsys.readouterr().out
    assert "CLIP score, forget samples vs the concept prompt" in printed and "CLIP score, retained prompts" in printed
    if name == "sd_nudity_forget.yaml":  # the NudeNet judge, the teacher beside the generator
        logged = next((tmp_path / "logs").rglob("metrics.csv")).read_text()
        assert "nudity/rate@0.6" in logged and "nudity/teacher/rate@0.45" in logged
    ckpt = next((tmp_path / "logs").rglob("last.ckpt"))
    saved = torch.load(ckpt, weights_only=True, map_location="cpu")
    state = saved["state_dict"]
    if name == "sd_celebrities_forget.yaml":  # the 50 people of configs/prompts/celebrities.csv, one request
        (request,) = saved["sfd_lineage"]
        assert len(request["forget"]["concepts"]) == 50
    assert any(k.startswith("generator.net.unet.") for k in state)
    assert not any(k.startswith(("teacher.", "autoencoder.")) or ".text." in k for k in state)

    import numpy as np

    data = sample_two_prompts(ckpt, tmp_path)
    assert data["images"].shape == (4, 3, 16, 16)
    assert data["prompts"].tolist() == ["a photo of brad pitt"] * 2 + ["a bowl of ramen"] * 2

    # sfd export: diffusers reads its UNet; our pipeline (the frozen parts by reference) the same images
    from diffusers import UNet2DConditionModel

    from sfd_lightning import load_generator

    main(["export", "--ckpt", str(ckpt), "--out", str(tmp_path / "exported")])
    unet = UNet2DConditionModel.from_pretrained(tmp_path / "exported", subfolder="unet")
    ema = {
        k.removeprefix("generator_ema.module.net.unet."): v
        for k, v in state.items()
        if k.startswith("generator_ema.module.net.unet.")
    }
    assert all(torch.equal(v, ema[k]) for k, v in unet.state_dict().items())
    images = load_generator(str(tmp_path / "exported")).sample(["a photo of brad pitt", "a bowl of ramen"], n=2, seed=0)
    assert np.array_equal(images.numpy(), data["images"])


def test_generator_from_a_distilled_unet_folder(tiny, tmp_path):
    """``model.init_ckpt`` as a diffusers UNet folder: the generator (and its EMA) take it; teacher and fake score do
    not."""
    from diffusers import UNet2DConditionModel

    from sfd_lightning.diffusion import VPDenoiser
    from sfd_lightning.errors import ConfigError
    from sfd_lightning.models import SFDModule
    from sfd_lightning.models.components import DDPMUNet, SDUNet

    torch.manual_seed(5)
    distilled = UNet2DConditionModel.from_pretrained(tiny[0], subfolder="unet")
    for p in distilled.parameters():
        p.data.add_(0.01)
    distilled.save_pretrained(tmp_path / "one-step" / "unet")
    module = SFDModule(teacher=VPDenoiser(SDUNet(pretrained=str(tiny[0]))), init_ckpt=str(tmp_path / "one-step"))
    key = "conv_in.weight"
    torch.testing.assert_close(module.generator.net.unet.state_dict()[key], distilled.state_dict()[key])
    torch.testing.assert_close(module.generator_ema.module.net.unet.state_dict()[key], distilled.state_dict()[key])
    assert not torch.allclose(module.fake_score.net.unet.state_dict()[key], distilled.state_dict()[key])
    with pytest.raises(ConfigError, match="model.init_ckpt: .* is a folder, but DDPMUNet cannot load one"):
        SFDModule(
            teacher=VPDenoiser(
                DDPMUNet(in_channels=1, resolution=8, ch=8, ch_mult=(1, 2), num_classes=10, norm_groups=4)
            ),
            init_ckpt=str(tmp_path),
        )


def test_a_removed_tokenizer_folder_is_refused_before_any_weight_is_read(tiny, tmp_path, monkeypatch):
    """A pipeline folder without ``tokenizer/`` would load a tokenizer of no vocabulary and fail in the first step."""
    import shutil

    import diffusers
    import transformers

    from sfd_lightning.errors import ConfigError
    from sfd_lightning.models.components import SDUNet

    folder = shutil.copytree(tiny[0], tmp_path / "sd")
    shutil.rmtree(folder / "tokenizer")
    refuse = classmethod(lambda *args, **kwargs: pytest.fail("weights were read before the check"))
    monkeypatch.setattr(diffusers.ModelMixin, "from_pretrained", refuse)
    monkeypatch.setattr(transformers.PreTrainedModel, "from_pretrained", refuse)
    with pytest.raises(
        ConfigError, match="^net.init_args.pretrained: .* has no tokenizer: SDUNet needs the pipeline's"
    ):
        SDUNet(pretrained=str(folder))


def test_a_learned_word_after_a_context_prompt_is_the_embedding_attack_s_condition(tiny):
    """ConditionTokens: the CLIP input embedding of a one-token word put after the context is that prompt's encoding;
    another vector changes the UNet's output, and gradients reach the vector through the frozen encoder."""
    from sfd_lightning.diffusion.conditions import ConditionTokens
    from sfd_lightning.models.components import SDUNet

    net = SDUNet(pretrained=str(tiny[0]))
    x, t = torch.randn(2, 4, 8, 8), torch.tensor([300.0, 700.0])
    word = net.condition_token("a")  # one token in the tiny character vocabulary ("a</w>")
    tokens = ConditionTokens(torch.stack([word, word]), ["a photo of", "x"])
    torch.testing.assert_close(net(x, t, tokens), net(x, t, ["a photo of a", "x a"]))
    learned = (word + 0.5 * torch.randn_like(word)).requires_grad_(True)
    out = net(x, t, ConditionTokens(learned.expand(2, -1), ["a photo of", "x"]))
    assert not torch.allclose(out, net(x, t, ["a photo of a", "x a"]))
    out.square().mean().backward()
    assert learned.grad is not None and learned.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in net.text.encoder.parameters())
    assert set(net.text.cache) == {"a photo of a", "x a"}  # learned words are never cached


def test_adversarial_prompt_words_are_whole_word_tokens_that_type_back_to_themselves(tiny):
    """Rows of the vocabulary table, decoded to text and appended to a prompt, condition the UNet exactly as the
    learned-word path does with those rows: what the adversarial-prompt search finds is a typeable prompt."""
    from sfd_lightning.diffusion.conditions import ConditionTokens
    from sfd_lightning.models.components import SDUNet

    net = SDUNet(pretrained=str(tiny[0]))
    table = net.vocabulary_table()
    rows = [3, 10, 0]
    words = net.token_text(rows)
    assert words and len(words.split()) == 3
    x, t = torch.randn(1, 4, 8, 8), torch.tensor([500.0])
    via_rows = net(x, t, ConditionTokens(table[rows][None], ["a photo of"]))
    torch.testing.assert_close(via_rows, net(x, t, [f"a photo of {words}"]))


def test_robust_sfd_on_a_guided_prompt_config_pushes_the_forget_rows_and_shares_them(tiny, tmp_path, monkeypatch):
    """The nudity config: guidance 4.5 with a negative prompt on the forget rows, so the teacher's margin runs on
    2B prompt rows with their negative prompts; the fake score's forget rows are the generator's pushed ones."""
    from sfd_lightning.cli import SFDLightningCLI
    from sfd_lightning.diffusion.pgd import radius

    monkeypatch.chdir(ROOT)
    path = tmp_path / "nudity.yaml"
    config = tiny_sd_config("sd_nudity_forget.yaml", tmp_path, tiny)
    config["trainer"]["callbacks"] = config["trainer"]["callbacks"][:1]
    path.write_text(yaml.safe_dump(config))
    cli = SFDLightningCLI(args=["--config", str(path), "--config", "configs/overlays/robust.yaml"], run=False)
    module, built = cli.model, []
    assert module.robust.shares and module.guidance.teacher != 1.0
    build = module.sfd_batch
    module.sfd_batch = lambda update: built.append(build(update)) or built[-1]  # fake score's, then generator's
    steps = record_step_inputs(module)
    cli.trainer.fit(module, datamodule=cli.datamodule)
    (_, fake, _), (_, gen, _), unpushed = steps[0], steps[1], built[1]  # the first iteration's
    n = gen.n_retained
    assert torch.equal(gen.z[:n], unpushed.z[:n]) and gen.labels == unpushed.labels  # retained rows, prompts as built
    moved = (gen.z[n:] - unpushed.z[n:]).flatten(1).norm(dim=1)
    assert (moved > 0).any() and (moved <= radius(0.5, gen.z) * (1 + 1e-5)).all()
    assert torch.equal(fake.z[n:], gen.z[n:]) and fake.labels[n:] == gen.labels[n:]  # shared forget rows
    assert torch.equal(fake.z[:n], built[0].z[:n])  # the fake score's retained rows are its own
    assert set(gen.null_labels[:n]) == {""} and all(gen.null_labels[n:])  # negative prompts on the forget rows only
