"""DiT through diffusers: the adapter, the latent pipeline and a few-step fit of configs/imagenet_forget.yaml.

A tiny randomly initialised DiT and VAE are built here and saved in diffusers' folder layout
(``transformer/``, ``vae/``), so the config loads them with the same ``from_pretrained`` call that
reads ``facebook/DiT-XL-2-256`` on users' machines.
"""

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from project import CONFIGS, ROOT, load_config

TINY_DIT = dict(
    num_attention_heads=2,
    attention_head_dim=8,
    in_channels=4,
    out_channels=8,
    num_layers=2,
    sample_size=8,
    patch_size=2,
    num_embeds_ada_norm=1000,
    norm_num_groups=8,
)
TINY_VAE = dict(
    block_out_channels=(8, 16),
    down_block_types=("DownEncoderBlock2D",) * 2,
    up_block_types=("UpDecoderBlock2D",) * 2,
    latent_channels=4,
    norm_num_groups=8,
    sample_size=16,
)


@pytest.fixture(scope="module")
def tiny_dit_folder(tmp_path_factory):
    from diffusers import AutoencoderKL, DiTTransformer2DModel

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-dit")
    DiTTransformer2DModel(**TINY_DIT).save_pretrained(folder / "transformer")
    AutoencoderKL(**TINY_VAE).save_pretrained(folder / "vae")
    return folder


def test_adapter_slices_variance_maps_null_label_and_never_drops_labels(tiny_dit_folder):
    from sfd_lightning.models.components import DiTEps

    net = DiTEps(pretrained=str(tiny_dit_folder)).train()
    x, t = torch.randn(3, 4, 8, 8), torch.tensor([10.0, 500.0, 999.0])
    labels = torch.tensor([1, 207, 999])
    eps = net(x, t, labels)
    assert eps.shape == x.shape  # the 4 learned-variance channels are gone
    torch.testing.assert_close(eps, net(x, t, labels))  # training mode, yet no random label dropout
    raw = net.transformer(x, timestep=t, class_labels=torch.full((3,), 1000), return_dict=False)[0][:, :4]
    torch.testing.assert_close(net(x, t, torch.full((3,), -1)), raw)  # -1 is DiT's null class, index 1000
    assert not torch.allclose(raw, eps)


def test_autoencoder_round_trip_shapes(tiny_dit_folder):
    from sfd_lightning.models.components import LatentAutoencoder

    vae = LatentAutoencoder(pretrained=str(tiny_dit_folder))
    assert vae.scaling_factor == pytest.approx(0.18215)
    latents = vae.encode(torch.rand(2, 3, 16, 16) * 2 - 1)
    images = vae.decode(latents)
    assert latents.shape == (2, 4, 8, 8) and images.shape == (2, 3, 16, 16) and images.abs().max() <= 1


def test_missing_model_folder_is_one_line(run_cli, tiny_dit_folder, tmp_path, capsys):
    config = tiny_config(tmp_path, tiny_dit_folder)
    config["model"]["init_args"]["teacher"]["init_args"]["net"]["init_args"]["pretrained"] = str(tmp_path / "none")
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    code = run_cli(["fit", "--config", str(tmp_path / "bad.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    # (diffusers' log handler may still point at an earlier test's closed capture stream and print
    # "--- Logging error ---" blocks here; a real terminal shows only the last line)
    assert code == 2 and [line for line in err if line.startswith("sfd: error")] == err[-1:]
    assert "net.init_args.pretrained: cannot load DiTTransformer2DModel" in err[-1]


def test_print_config(run_cli, capsys):
    assert run_cli(["fit", "--config", "configs/imagenet_forget.yaml", "--print_config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["init_args"]["teacher"]["init_args"]["net"]["class_path"].endswith("DiTEps")
    assert printed["model"]["init_args"]["forget_label"] == "golden retriever"


def fake_imagenet_val(root, wnids=("n01440764", "n01443537", "n01484850")):
    rng = np.random.default_rng(0)
    for wnid in wnids:
        (root / "val" / wnid).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(root / "val" / wnid / f"{i}.JPEG")


def tiny_config(tmp_path, tiny_dit_folder):
    """configs/imagenet_forget.yaml with the tiny DiT/VAE folder, fake ImageNet val images and a tiny judge."""
    from sfd_lightning.io.asset import export_weights
    from sfd_lightning.models.components import ResNetClassifier

    fake_imagenet_val(tmp_path / "imagenet")
    judge = {
        "class_path": "sfd_lightning.models.components.ResNetClassifier",
        "init_args": {"arch": "resnet18", "num_classes": 1000, "input_size": None},
    }
    export_weights(
        str(tmp_path / "judge.pt"), "classifier", judge, ResNetClassifier("resnet18", 1000, None).state_dict()
    )
    config = load_config(CONFIGS / "imagenet_forget.yaml")
    model = config["model"]["init_args"]
    model["teacher"]["init_args"]["net"]["init_args"]["pretrained"] = str(tiny_dit_folder)
    model["autoencoder"]["init_args"]["pretrained"] = str(tiny_dit_folder)
    config["data"]["init_args"].update(shape=[4, 8, 8], batch_size=2, iterations=2)
    trainer = config["trainer"]
    trainer.update(accelerator="cpu", devices=1, precision="32-true", default_root_dir=str(tmp_path / "run"))
    trainer["logger"] = {
        "class_path": "lightning.pytorch.loggers.CSVLogger",
        "init_args": {"save_dir": str(tmp_path / "logs")},
    }
    callbacks = trainer["callbacks"]
    callbacks[0]["init_args"]["every_n_train_steps"] = 2
    forget = callbacks[1]["init_args"]
    forget["classifier"]["init_args"].update(arch="resnet18", weights=None, input_size=None)
    forget.update(n_per_label=2, max_retained_labels=3, every_n_iterations=0)
    fid = callbacks[2]["init_args"]
    fid["reference"]["init_args"].update(root=str(tmp_path / "imagenet"), image_size=16)
    fid["feature_extractor"] = {
        "class_path": "sfd_lightning.metrics.ClassifierFeatures",
        "init_args": {"classifier_ckpt": str(tmp_path / "judge.pt")},
    }
    fid.update(n_per_label=1, every_n_iterations=0)
    callbacks[3]["init_args"].update(n_per_label=2, every_n_iterations=0, max_retained_labels=2)
    return config


def test_few_step_fit_of_the_imagenet_config(tiny_dit_folder, tmp_path, monkeypatch, capsys):
    from sfd_lightning.cli import main

    monkeypatch.chdir(ROOT)
    config = tiny_config(tmp_path, tiny_dit_folder)
    path = tmp_path / "imagenet_tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    main(["fit", "--config", str(path)])
    printed = capsys.readouterr().out
    assert "forget-class accuracy" in printed
    ckpt = next((tmp_path / "logs").rglob("last.ckpt"))
    state = torch.load(ckpt, weights_only=True, map_location="cpu")
    assert not any(k.startswith(("teacher.", "autoencoder.")) for k in state["state_dict"])
    assert state["hyper_parameters"]["forget_label"] == "golden retriever"
    grid = next(tmp_path.rglob("grids/final.png"))
    assert Image.open(grid).size[0] > 16 * 2  # decoded 16 px images, not 8 px latents

    out = tmp_path / "samples.npz"
    main(
        [
            "sample",
            "--ckpt",
            str(ckpt),
            "--labels",
            "207,281",
            "--n-per-label",
            "2",
            "--out",
            str(out),
            "--device",
            "cpu",
        ]
    )
    data = np.load(out)
    assert data["images"].shape == (4, 3, 16, 16) and data["labels"].tolist() == [207, 207, 281, 281]

    # sfd export: diffusers reads its transformer; our pipeline (the VAE by reference) the same images
    from diffusers import DiTTransformer2DModel

    from sfd_lightning import load_generator

    main(["export", "--ckpt", str(ckpt), "--out", str(tmp_path / "exported")])
    transformer = DiTTransformer2DModel.from_pretrained(tmp_path / "exported", subfolder="transformer")
    prefix = "generator_ema.module.net.transformer."
    ema = {k.removeprefix(prefix): v for k, v in state["state_dict"].items() if k.startswith(prefix)}
    assert all(torch.equal(v, ema[k]) for k, v in transformer.state_dict().items())
    images = load_generator(str(tmp_path / "exported")).sample([207, 281], n=2, seed=0)
    assert np.array_equal(images.numpy(), data["images"])


def test_classes_by_name(tiny_dit_folder):
    from sfd_lightning.diffusion import VPDenoiser
    from sfd_lightning.errors import ConfigError
    from sfd_lightning.models import SFDModule
    from sfd_lightning.models.components import DiTEps

    def module(**kwargs):
        return SFDModule(teacher=VPDenoiser(DiTEps(pretrained=str(tiny_dit_folder))), num_classes=1000, **kwargs)

    m = module(forget_label="Golden Retriever", override_label="tabby")
    assert (m.forget_label, m.override.label) == (207, 281)
    with pytest.raises(
        ConfigError,
        match="model.forget_label: 'golden retreiver' is not an ImageNet class name; did you mean 'golden retriever'",
    ):
        module(forget_label="golden retreiver", override_label=1)
    with pytest.raises(ConfigError, match="model.override_label: must be in \\[0, 999\\]"):
        module(forget_label=0, override_label="1000")


def test_a_learned_class_row_in_every_block_is_the_embedding_attack_s_condition(tiny_dit_folder):
    """ConditionTokens: a class's rows of every block's table reproduce that class; another vector changes the
    output, and gradients reach it."""
    from sfd_lightning.diffusion.conditions import ConditionTokens
    from sfd_lightning.models.components import DiTEps

    net = DiTEps(pretrained=str(tiny_dit_folder)).eval()
    assert len(net.label_tables()) == TINY_DIT["num_layers"]
    x, t = torch.randn(2, 4, 8, 8), torch.tensor([300.0, 700.0])
    row = net.condition_token(7)
    torch.testing.assert_close(net(x, t, ConditionTokens(row.expand(2, -1))), net(x, t, torch.tensor([7, 7])))
    learned = (row + torch.randn_like(row)).requires_grad_(True)
    out = net(x, t, ConditionTokens(learned.expand(2, -1)))
    assert not torch.allclose(out, net(x, t, torch.tensor([7, 7])))
    out.square().mean().backward()
    assert learned.grad is not None and learned.grad.abs().sum() > 0
