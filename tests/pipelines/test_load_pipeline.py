"""``load_pipeline`` and ``teacher_of``: the one loader of a model you can draw from, on the shipped digits assets."""

import pytest
import torch
from generator_folders import write_generator_folder
from project import ASSETS

from sfd_lightning import load_generator
from sfd_lightning.diffusion.samplers import ddim, sample_ddim
from sfd_lightning.errors import ConfigError
from sfd_lightning.pipelines.load import load_pipeline, teacher_of
from sfd_lightning.pipelines.multi_step import MultiStepPipeline
from sfd_lightning.pipelines.one_step import OneStepPipeline

TEACHER = str(ASSETS / "digits_teacher.pt")


def noise(n=4, seed=0):
    return torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 40  # images outside [-1, 1]


def test_a_folder_is_the_one_step_generator_load_generator_reads(tmp_path):
    folder = str(write_generator_folder(tmp_path / "gen"))
    pipe = load_pipeline(folder)
    assert isinstance(pipe, OneStepPipeline)
    assert (pipe.name, pipe.description, pipe.nfe, pipe.guided) == ("sfd", "one-step EMA generator", 1, False)
    assert pipe.shape == (1, 8, 8) and pipe.num_classes == 10 and pipe.conditioning == "classes"
    assert pipe.denoiser is None and pipe.net is pipe.generator.denoiser.net and pipe.meta["forget_label"] == 0
    assert pipe.sources["files"] == {"--ckpt": folder} and pipe.sources["field"] == "--ckpt"
    assert pipe.sources["configs"]["denoiser"] == pipe.meta["denoiser"]
    assert pipe.sigma_init == pytest.approx(float(pipe.generator.denoiser.schedule.sigmas[440]))
    z, y = noise(), torch.tensor([0, 1, 2, 3])
    raw = pipe.draw(z, y, 7.5, clamp=False)  # no guidance: distilled in
    torch.testing.assert_close(raw, pipe.generate(z, y).detach())
    torch.testing.assert_close(pipe.draw(z, y), raw.clamp(-1, 1))
    assert torch.equal(pipe.sample([3], n=2, seed=1), load_generator(folder).sample([3], n=2, seed=1))
    assert not any(p.requires_grad for p in pipe.generator.parameters()) and not pipe.generator.training


def test_a_teacher_asset_is_its_ddim_with_and_without_gradients():
    pipe = load_pipeline(TEACHER, steps=3)
    assert isinstance(pipe, MultiStepPipeline)
    assert (pipe.name, pipe.description, pipe.nfe, pipe.guided) == ("model", "teacher, 3-step DDIM", 3, True)
    assert pipe.shape == (1, 8, 8) and pipe.num_classes == 10 and pipe.denoiser.net is pipe.net
    assert pipe.meta["denoiser"] == torch.load(TEACHER, weights_only=True)["config"]
    assert pipe.sources["configs"] == {"denoiser": None, "autoencoder": None}  # what benchmark manifests record
    z, y = noise(), torch.tensor([0, 1, 2, 3])
    with torch.no_grad():
        want = ddim(pipe.denoiser, z, y, 3)
    z.requires_grad_(True)
    images = pipe.generate(z, y)
    assert images.requires_grad and torch.equal(images.detach(), want)
    torch.testing.assert_close(pipe.draw(z, y, 2.0), sample_ddim(pipe.denoiser, z, y, 3, 2.0).clamp(-1, 1))
    torch.testing.assert_close(pipe.draw(z, y, 2.0, clamp=False), sample_ddim(pipe.denoiser, z, y, 3, 2.0))


def test_the_teacher_of_a_model_has_its_architecture_the_given_weights_and_its_decoder(tmp_path):
    model = load_pipeline(str(write_generator_folder(tmp_path / "gen")))
    teacher = teacher_of(model, TEACHER, steps=2)
    assert (teacher.name, teacher.description, teacher.nfe) == ("teacher", "teacher, 2-step DDIM", 2)
    assert teacher.decode is model.decode and teacher.meta is model.meta
    assert teacher.sources == {
        "files": {"teacher_ckpt": TEACHER},
        "configs": {"teacher": model.meta["denoiser"], "autoencoder": None},
        "field": "--teacher",
    }
    asset = load_pipeline(TEACHER, steps=2)
    z, y = noise(), torch.tensor([4, 5, 6, 7])
    assert torch.equal(teacher.draw(z, y), asset.draw(z, y))


def test_a_model_without_a_recorded_teacher_names_the_option_and_the_way_out(tmp_path):
    model = load_pipeline(str(write_generator_folder(tmp_path / "gen")))
    with pytest.raises(ConfigError, match="--teacher.*records no teacher_ckpt.*--teacher, or leave it"):
        teacher_of(model, what_else=", or leave it")


def test_a_checkpoint_of_no_model_is_refused_naming_the_option(tmp_path):
    path = tmp_path / "other.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}}, path)
    with pytest.raises(ConfigError, match="--ckpt.*neither an SFD checkpoint"):
        load_pipeline(str(path))
    with pytest.raises(ConfigError, match="--model"):
        load_pipeline(str(tmp_path / "missing.ckpt"), field="--model")


def test_named_gives_another_row_name_on_the_same_networks(tmp_path):
    pipe = load_pipeline(TEACHER, steps=2)
    renamed = pipe.named("ESD", "ESD, 2-step DDIM")
    assert (renamed.name, renamed.description) == ("ESD", "ESD, 2-step DDIM")
    assert (pipe.name, pipe.description) == ("model", "teacher, 2-step DDIM") and renamed.denoiser is pipe.denoiser
