"""Every family read with its own diffusers pipeline (SDXL, SD3 and FLUX.1: the backbone classes) on tiny random
pipelines built here (helpers/random_families.py's TINY_FAMILIES): the frozen shared text side, the family checks
made before any weight is read, and a two-iteration fit of each family's shipped config followed by `sfd sample`,
`sfd export` and `load_generator`."""

import copy
import json
import shutil

import numpy as np
import pytest
import torch
import yaml
from project import ROOT
from random_families import TINY_FAMILIES
from tiny_families import backbones, make_tiny_family, tiny_family_config, tiny_of
from tiny_sd import make_tiny_clip, make_tiny_sd, sample_two_prompts

from sfd_lightning.errors import ConfigError

BACKBONES = backbones()  # {config prefix: backbone class}
FAMILIES = tuple(BACKBONES)


def test_every_family_has_a_tiny_pipeline():
    from sfd_lightning.models.components.pipeline_family import families
    from sfd_lightning.models.components.pipeline_network import PipelineNetwork

    assert {cls.__name__ for cls in families() if issubclass(cls, PipelineNetwork)} == set(TINY_FAMILIES)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """{family: tiny pipeline folder} for SDXL, SD3, FLUX and SD 1.5, and a tiny CLIP."""
    root = tmp_path_factory.mktemp("tiny-families")
    folders = {family: make_tiny_family(family, root / family) for family in FAMILIES}
    folders["sd"] = make_tiny_sd(root / "sd")
    return folders, make_tiny_clip(root / "clip")


def network(family: str, folder, **kwargs):
    return BACKBONES[family](pretrained=str(folder), **tiny_of(family).net, **kwargs)


@pytest.mark.parametrize("family", FAMILIES)
def test_text_side_is_frozen_shared_cached_and_not_checkpointed(family, tiny):
    net = network(family, tiny[0][family], negative_prompt="blurry")
    other = copy.deepcopy(net)
    assert other.text is net.text
    assert net.text.encoders and not any(p.requires_grad for m in net.text.encoders.values() for p in m.parameters())
    assert all(k.startswith(net.network + ".") for k in net.state_dict())  # the network only: no text encoder
    x = torch.randn(3, 4, 8, 8)
    t = torch.tensor([0.1, 0.5, 0.9]) if BACKBONES[family].noise_kind != "vp" else torch.tensor([10.0, 400.0, 900.0])
    out = net(x, t, ["a photo of brad pitt", "", "a photo of brad pitt"])
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert set(net.text.cache) == {"a photo of brad pitt", "blurry"}  # "" is the negative prompt; repeats encoded once
    torch.testing.assert_close(net(x[1:2], t[1:2], [""]), net(x[1:2], t[1:2], ["blurry"]))
    assert not torch.allclose(net(x[:1], t[:1], ["a cat"]), net(x[:1], t[:1], ["a dog"]))
    with pytest.raises(TypeError, match="conditioned on prompts"):
        net(x, t, torch.tensor([0, 1, 2]))


def test_sdxl_empty_negative_prompt_is_all_zeros_as_in_its_pipeline(tiny):
    net = network("sdxl", tiny[0]["sdxl"])
    embeds, pooled = net.text(["", "a cat"], torch.device("cpu"), torch.float32)
    assert not embeds[0].any() and not pooled[0].any() and embeds[1].any()


@pytest.mark.parametrize("family", FAMILIES)
def test_embeddings_equal_the_family_pipelines_own(family, tiny):
    """The prompt encoding is the pipeline's ``encode_prompt``: run here on a pipeline of the folder's text parts."""
    import diffusers

    net = network(family, tiny[0][family], **tiny_of(family).text)
    embeds, pooled = net.text(["a cat", "two dogs"], torch.device("cpu"), torch.float32)
    pipeline = getattr(diffusers, net.pipeline_class).from_pretrained(
        tiny[0][family], **{net.network: None}, vae=None, scheduler=None
    )
    want, want_pooled = tiny_of(family).encode_prompts(pipeline, ["a cat", "two dogs"], **tiny_of(family).text)
    torch.testing.assert_close(embeds, want)
    torch.testing.assert_close(pooled, want_pooled)


@pytest.fixture
def no_weights_read(monkeypatch):
    """Reading any network's or text encoder's weights fails the test: the checks must come first."""
    import diffusers
    import transformers

    def refuse(*args, **kwargs):
        raise AssertionError("weights were read before the check")

    monkeypatch.setattr(diffusers.ModelMixin, "from_pretrained", classmethod(refuse))
    monkeypatch.setattr(transformers.PreTrainedModel, "from_pretrained", classmethod(refuse))


@pytest.mark.parametrize(
    "family,folder,message",
    [
        (
            "sd3",
            "flux",
            "is a FluxPipeline .* not a SD3Transformer2DModel pipeline, which SD3Transformer takes; "
            "use FluxTransformer",
        ),
        ("flux", "sdxl", "is a StableDiffusionXLPipeline .* which FluxTransformer takes; use SDXLUNet"),
        ("sdxl", "sd", "is not an SDXL UNet .*; use SDUNet"),
        ("sdxl", "sd3", "is a StableDiffusion3Pipeline .*; use SD3Transformer"),
    ],
)
def test_a_folder_of_another_family_is_refused_before_any_weight_is_read(
    family, folder, message, tiny, no_weights_read
):
    with pytest.raises(ConfigError, match=f"^net.init_args.pretrained: .*{message}"):
        network(family, tiny[0][folder])


def test_sd_unet_refuses_an_sdxl_folder_before_any_weight_is_read(tiny, no_weights_read):
    from sfd_lightning.models.components import SDUNet

    with pytest.raises(ConfigError, match="^net.init_args.pretrained: .* holds an SDXL UNet .*; use SDXLUNet"):
        SDUNet(pretrained=str(tiny[0]["sdxl"]))


@pytest.mark.parametrize("listed", [False, True], ids=["null-in-index", "listed-folder-removed"])
@pytest.mark.parametrize(
    "family,part", [("sd3", "text_encoder_3"), ("flux", "text_encoder_2"), ("sdxl", "tokenizer_2")]
)
def test_a_missing_text_encoder_is_refused_before_any_weight_is_read(family, part, listed, tiny, tmp_path, monkeypatch):
    folder = shutil.copytree(tiny[0][family], tmp_path / family)
    shutil.rmtree(folder / part)
    if not listed:  # else the index still names it: only the folder is gone
        index = json.loads((folder / "model_index.json").read_text())
        index[part] = [None, None]  # as save_pretrained writes a pipeline saved without it
        (folder / "model_index.json").write_text(json.dumps(index))
    import diffusers
    import transformers

    def refuse(*args, **kwargs):
        raise AssertionError("weights were read before the check")

    monkeypatch.setattr(diffusers.ModelMixin, "from_pretrained", classmethod(refuse))
    monkeypatch.setattr(transformers.PreTrainedModel, "from_pretrained", classmethod(refuse))
    with pytest.raises(ConfigError, match=f"^net.init_args.pretrained: .* has no {part}: .* needs the pipeline's text"):
        network(family, folder)


def test_an_adapter_of_the_wrong_kind_is_refused(tiny):
    from sfd_lightning.diffusion import FlowDenoiser, VPDenoiser
    from sfd_lightning.models.components import SDUNet

    with pytest.raises(
        ConfigError,
        match="^teacher: VPDenoiser cannot wrap SD3Transformer: .* predicts a flow velocity; use FlowDenoiser",
    ):
        VPDenoiser(network("sd3", tiny[0]["sd3"]))
    with pytest.raises(
        ConfigError, match="^teacher: FlowDenoiser cannot wrap SDUNet: SDUNet is a VP network .*; use VPDenoiser"
    ):
        FlowDenoiser(SDUNet(pretrained=str(tiny[0]["sd"])))


@pytest.mark.parametrize(
    "name",
    [f"{family}_nudity_forget.yaml" for family in FAMILIES]  # celebrity: the same path
    + [pytest.param(f"{family}_celebrity_forget.yaml", marks=pytest.mark.slow) for family in FAMILIES],
)
def test_two_iteration_fit_sample_export_and_load_generator(name, tiny, tmp_path, monkeypatch, capsys):
    """Each family config: SFD iterations inside Trainer.fit with its callbacks (CLIP score, image grid, the
    NudeNet judge with its teacher), then `sfd sample`, `sfd export` (diffusers reads the network) and
    `load_generator` of the export giving the same images."""
    import diffusers

    from sfd_lightning import load_generator
    from sfd_lightning.cli import main

    family = name.split("_")[0]
    monkeypatch.chdir(ROOT)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(tiny_family_config(name, tmp_path, (tiny[0][family], tiny[1]))))
    main(["fit", "--config", str(path)])
    printed = capsys.readouterr().out
    assert "CLIP score, retained prompts" in printed
    if "nudity" in name:
        logged = next((tmp_path / "logs").rglob("metrics.csv")).read_text()
        assert "nudity/rate@0.6" in logged and "nudity/teacher/rate@0.45" in logged
    ckpt = next((tmp_path / "logs").rglob("last.ckpt"))
    state = torch.load(ckpt, weights_only=True, map_location="cpu")["state_dict"]
    part = BACKBONES[family].network
    assert any(k.startswith(f"generator.net.{part}.") and "lora_" in k for k in state)  # LoRA by default
    assert not any(k.startswith(("teacher.", "autoencoder.")) or ".text." in k for k in state)

    data = sample_two_prompts(ckpt, tmp_path)
    assert data["images"].shape == (4, 3, 16, 16) and np.isfinite(data["images"]).all()

    main(["export", "--ckpt", str(ckpt), "--out", str(tmp_path / "exported")])
    network_cls = getattr(diffusers, BACKBONES[family].network_class)
    exported = network_cls.from_pretrained(tmp_path / "exported", subfolder=part)
    ema = {
        k.removeprefix(f"generator_ema.module.net.{part}."): v
        for k, v in state.items()
        if k.startswith(f"generator_ema.module.net.{part}.") and "lora_" not in k
    }
    assert all(torch.equal(v, ema[k]) for k, v in exported.state_dict().items())
    images = load_generator(str(tmp_path / "exported")).sample(["a photo of brad pitt", "a bowl of ramen"], n=2, seed=0)
    np.testing.assert_allclose(images.numpy(), data["images"], atol=1e-5)
    if "nudity" in name:  # the model card's stock-diffusers recipe: the family's own pipeline draws the same images
        ours, stock = ours_and_stock(family, tiny[0][family], tmp_path / "exported")
        torch.testing.assert_close(stock, ours, rtol=0, atol=2e-4)
    if name in (
        "sdxl_nudity_forget.yaml",
        "flux_nudity_forget.yaml",
    ):  # the attacks that need no CLIP vocabulary: VP, flow
        attacks = attack(ckpt, tiny[1], tmp_path)
        assert attacks == {(a, t) for a in ("noise", "relearn", "benign") for t in ("teacher", "sfd")}


def ours_and_stock(family: str, base, folder):
    """load_generator's images of two prompts, and the family pipeline's (diffusers alone) with the exported network and
    the model card's numbers (latent scale, timestep or unshifted sigma, guidance), in [0, 1]."""
    import re

    import diffusers

    from sfd_lightning import load_generator

    prompts = ["a photo of a cat", "a red car"]
    generator = load_generator(str(folder))
    z = torch.randn((2, *generator.shape), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = (generator.decode(generator.generator(z, prompts)).clamp(-1, 1) + 1) / 2
    card = (folder / "README.md").read_text()
    backbone = BACKBONES[family]  # the classes' declarations the card's recipe is made from
    pipeline, network, part = backbone.pipeline_class, backbone.network_class, backbone.network
    model = getattr(diffusers, network).from_pretrained(folder, subfolder=part)
    pipe = getattr(diffusers, pipeline).from_pretrained(base, **{part: model})
    size = int(re.search(r"height=(\d+)", card).group(1))
    kwargs = dict(
        guidance_scale=float(re.search(r"guidance_scale=([0-9.]+)", card).group(1)),
        height=size,
        width=size,
        output_type="pt",
    )
    if backbone.noise_kind == "vp":
        scale, t_init = re.search(r"latents=([0-9.]+) \* z, timesteps=\[(\d+)\]", card).groups()
        pipe.scheduler = diffusers.DDPMScheduler.from_config(pipe.scheduler.config, clip_sample=False)
        return ours, pipe(prompts, latents=float(scale) * z, timesteps=[int(t_init)], **kwargs).images
    t, u = (float(v) for v in re.search(r"\(?([0-9.]+) \* z.*sigmas=\[([0-9.]+)\]", card).groups())
    latents = getattr(diffusers, pipeline)._pack_latents(t * z, 2, *z.shape[1:]) if backbone.packed_latents else t * z
    kwargs["max_sequence_length"] = 16  # the tiny configs' (the real ones: the pipelines' defaults)
    return ours, pipe(prompts, latents=latents, sigmas=[u], num_inference_steps=1, **kwargs).images


def attack(ckpt, clip, tmp_path) -> set:
    """`sfd attack` (noise through the latents and the decoder, relearning, benign fine-tuning) at tiny budgets:
    the (attack, target) rows it wrote."""
    from sfd_lightning.cli import main

    prompts = tmp_path / "attack_prompts.txt"
    prompts.write_text("a photo of the digit seven\na drawing of seven\na photo of the digit one\n")
    out = tmp_path / "attack"
    main(
        [
            "attack",
            "--ckpt",
            str(ckpt),
            "--concept",
            "seven",
            "--prompts",
            str(prompts),
            "--attack",
            "noise",
            "--attack",
            "relearn",
            "--attack",
            "benign",
            "--class-words",
            "zero,one,two,three,four,five,six,seven,eight,nine",
            "--surrogate",
            f"clip:{clip}",
            "--judge",
            "nudenet",
            "--examples",
            "teacher",
            "--n",
            "2",
            "--eps",
            "0.5",
            "--pgd-steps",
            "1",
            "--restarts",
            "1",
            "--relearn-steps",
            "1",
            "--relearn-weights",
            "lora",
            "--lora-rank",
            "2",
            "--k-examples",
            "2",
            "--teacher-steps",
            "2",
            "--pinpoint-k",
            "0",
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    )
    return {(r["attack"], r["target"]) for r in json.loads((out / "attack.json").read_text())["rows"]}


@pytest.mark.parametrize(
    "family", [family if family == "flux" else pytest.param(family, marks=pytest.mark.slow) for family in FAMILIES]
)
def test_two_esd_steps_on_each_family(family, tiny, tmp_path, monkeypatch, capsys):
    """The ESD baseline (configs/baselines/sd_nudity_esd.yaml's settings) on each family's teacher, in the family
    nudity config's trainer with its callbacks; its fine-tuned model samples through the same adapter."""
    from project import CONFIGS, load_config

    from sfd_lightning.cli import main

    monkeypatch.chdir(ROOT)
    config = tiny_family_config(f"{family}_nudity_forget.yaml", tmp_path, (tiny[0][family], tiny[1]))
    esd = load_config(CONFIGS / "baselines" / "sd_nudity_esd.yaml")["model"]
    sfd = config["model"]["init_args"]
    esd["init_args"].update(teacher=sfd["teacher"], autoencoder=sfd["autoencoder"], ddim_steps=3, sample_steps=2)
    config["model"] = esd
    path = tmp_path / "esd.yaml"
    path.write_text(yaml.safe_dump(config))
    main(["fit", "--config", str(path)])
    assert "CLIP score, forget samples vs the concept prompt" in capsys.readouterr().out
    state = torch.load(next((tmp_path / "logs").rglob("last.ckpt")), weights_only=True, map_location="cpu")[
        "state_dict"
    ]
    part = BACKBONES[family].network
    assert any(k.startswith(f"student.net.{part}.") for k in state)


def test_sfd_fit_refuses_a_flow_network_in_the_vp_adapter_before_any_weight_is_read(run_cli, capsys, monkeypatch):
    """`sfd fit --config configs/sd3_celebrity_forget.yaml` with the teacher's adapter switched to VPDenoiser: one
    line naming the field, from the config's class paths (the hub id is never reached: nothing is downloaded)."""
    import diffusers

    def refuse(*args, **kwargs):
        raise AssertionError("weights were read before the check")

    monkeypatch.setattr(diffusers.ModelMixin, "from_pretrained", classmethod(refuse))
    code = run_cli(
        [
            "fit",
            "--config",
            "configs/sd3_celebrity_forget.yaml",
            "--model.init_args.teacher.class_path=sfd_lightning.diffusion.VPDenoiser",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("sfd: error: model.teacher: VPDenoiser cannot wrap SD3Transformer"), err[0]


def test_generator_from_a_distilled_transformer_folder(tiny, tmp_path):
    """``model.init_ckpt`` as a diffusers transformer folder (a distilled one-step FLUX): the generator and its EMA
    take it, the teacher and the fake score keep the pipeline's."""
    from diffusers import FluxTransformer2DModel

    from sfd_lightning.diffusion import FlowDenoiser
    from sfd_lightning.models import SFDModule

    distilled = FluxTransformer2DModel.from_pretrained(tiny[0]["flux"], subfolder="transformer")
    for p in distilled.parameters():
        p.data.add_(0.01)
    distilled.save_pretrained(tmp_path / "one-step" / "transformer")
    module = SFDModule(teacher=FlowDenoiser(network("flux", tiny[0]["flux"])), init_ckpt=str(tmp_path / "one-step"))
    key, want = "x_embedder.weight", distilled.state_dict()["x_embedder.weight"]
    torch.testing.assert_close(module.generator.net.transformer.state_dict()[key], want)
    torch.testing.assert_close(module.generator_ema.module.net.transformer.state_dict()[key], want)
    assert not torch.allclose(module.fake_score.net.transformer.state_dict()[key], want)
    assert not torch.allclose(module.teacher.net.transformer.state_dict()[key], want)
