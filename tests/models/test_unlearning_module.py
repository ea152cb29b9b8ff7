"""``UnlearningModule``: SFD and every baseline through the one protocol the callbacks read, and the callbacks that
also serve modules that unlearn nothing (DiffusionModule runs: teachers, retraining)."""

import io
import json
import pathlib
import re
from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch import LightningModule, Trainer
from sfd_modules import fit, make_module
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import sfd_lightning
from sfd_lightning.baselines import ESDModule, SalUnModule, SelectiveAmnesiaModule
from sfd_lightning.callbacks import AttackCallback, ProgressLines, ReportCallback, SamplerSpeedCallback
from sfd_lightning.callbacks.periodic import PeriodicEvalCallback
from sfd_lightning.diffusion import VPDenoiser
from sfd_lightning.diffusion.samplers import sample_ddim
from sfd_lightning.errors import ConfigError
from sfd_lightning.models import DiffusionModule, SFDModule
from sfd_lightning.models.components import TextUNet
from sfd_lightning.models.unlearning_module import UnlearningModule, iteration_of


class Upsampler(nn.Module):
    """A stand-in latent autoencoder: ``decode`` doubles the resolution and scales by a (frozen) weight."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(2.0))

    def decode(self, x):
        return nn.functional.interpolate(x, scale_factor=2.0, mode="nearest") * self.scale


BASELINE = dict(num_classes=3, forget_label=0, sample_steps=2)
BUILDERS = {
    "sfd": lambda teacher, **kw: make_module(lambda: teacher, **kw),
    "esd": lambda teacher, **kw: ESDModule(teacher, **{**BASELINE, "ddim_steps": 2, **kw}),
    "salun": lambda teacher, **kw: SalUnModule(teacher, **{**BASELINE, **kw}),
    "selective_amnesia": lambda teacher, **kw: SelectiveAmnesiaModule(
        teacher, **{**BASELINE, "override_label": 1, **kw}
    ),
}


def trained_copy(module: UnlearningModule) -> nn.Module:
    """The network the method trains (SFD's EMA generator, a baseline's student)."""
    return module.generator_ema.module if isinstance(module, SFDModule) else module.student


@pytest.mark.parametrize("name", BUILDERS)
def test_every_method_samples_decoded_images_through_the_protocol(name, tiny_denoiser):
    module = BUILDERS[name](tiny_denoiser(), autoencoder=Upsampler()).eval()
    assert isinstance(module, UnlearningModule)
    noise, labels = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 0])
    with torch.no_grad():
        images = module.sample_images(noise, labels)
        if isinstance(module, SFDModule):  # one step of the EMA generator
            latents = module.one_step(ema=True)(noise, labels)
        else:  # the fine-tuned model's DDIM
            latents = sample_ddim(module.student, noise, labels, 2, 1.0)
    assert images.shape == (4, 1, 16, 16)  # decoded by the autoencoder
    torch.testing.assert_close(images, module.decode(latents))
    torch.testing.assert_close(images[..., ::2, ::2], 2 * latents)


@pytest.mark.parametrize("name", BUILDERS)
def test_checkpoints_leave_the_frozen_networks_out_and_restore_them(name, tiny_denoiser):
    module = BUILDERS[name](tiny_denoiser(seed=0), autoencoder=Upsampler())
    with torch.no_grad():
        for p in trained_copy(module).parameters():
            p.add_(0.5)  # training moved it away from the teacher
    checkpoint = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(checkpoint)
    keys = list(checkpoint["state_dict"])
    assert keys and not [k for k in keys if k.startswith(("teacher.", "autoencoder.", "override."))]
    fresh = BUILDERS[name](tiny_denoiser(seed=1), autoencoder=Upsampler())
    teacher_before = {k: v.clone() for k, v in fresh.teacher.state_dict().items()}
    fresh.on_load_checkpoint(checkpoint)
    fresh.load_state_dict(checkpoint["state_dict"])  # strict: every key there, the frozen ones put back live
    for k, v in fresh.teacher.state_dict().items():
        torch.testing.assert_close(v, teacher_before[k])  # its own teacher, not the saved run's
    for a, b in zip(trained_copy(fresh).parameters(), trained_copy(module).parameters()):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", BUILDERS)
def test_lightnings_train_mode_leaves_the_frozen_networks_in_eval(name, tiny_denoiser):
    module = BUILDERS[name](tiny_denoiser(), autoencoder=Upsampler()).train()
    assert not module.teacher.training and not module.autoencoder.training
    assert trained_copy(module).training or isinstance(module, SFDModule)  # SFD's EMA copy only averages
    assert not any(p.requires_grad for p in module.teacher.parameters())


@pytest.mark.parametrize("name", BUILDERS)
def test_every_method_checks_its_classes_against_the_teacher_alike(name, tiny_denoiser):
    with pytest.raises(ConfigError, match="model.num_classes.*is 4 but the teacher network has 3"):
        BUILDERS[name](tiny_denoiser(num_classes=3), num_classes=4)
    with pytest.raises(ConfigError, match=r"model.forget_label.*must be in \[0, 2\], got 3"):
        BUILDERS[name](tiny_denoiser(num_classes=3), forget_label=3)


def test_sfd_on_a_prompt_teacher_is_prompt_conditioned_though_its_class_count_is_set(tiny_denoiser):
    net = TextUNet(
        ["a", "one", "seven"],
        in_channels=1,
        resolution=8,
        ch=8,
        ch_mult=(1, 2),
        num_res_blocks=1,
        attn_resolutions=(4,),
        norm_groups=4,
    )
    assert make_module(lambda: VPDenoiser(net), num_classes=10).prompt_conditioned  # AttackCallback: a prompt spec
    assert not make_module(tiny_denoiser).prompt_conditioned


def test_iteration_is_sfds_own_count_and_the_trainers_steps_for_other_modules(tiny_denoiser, tmp_path):
    sfd = make_module(tiny_denoiser)
    trainer = fit(sfd, iterations=2, tmp_path=tmp_path)
    assert trainer.global_step == 4 and sfd.iteration == 2 and iteration_of(trainer, sfd) == 2
    esd = BUILDERS["esd"](tiny_denoiser())
    assert esd.iteration == 0  # its optimiser steps, before any training
    assert iteration_of(SimpleNamespace(global_step=7), DiffusionModule(tiny_denoiser())) == 7


def diffusion_run(tiny_denoiser, tmp_path, callbacks, epochs=2):
    """A DiffusionModule (a teacher or retraining run) fitted for ``epochs`` epochs of two batches."""
    images, labels = torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 2, 0])
    trainer = Trainer(
        accelerator="cpu",
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
        callbacks=callbacks,
    )
    trainer.fit(
        DiffusionModule(tiny_denoiser()), train_dataloaders=DataLoader(TensorDataset(images, labels), batch_size=2)
    )
    return trainer


def test_run_callbacks_serve_a_module_that_unlearns_nothing(tiny_denoiser, tmp_path, capsys):
    stream = io.StringIO()
    trainer = diffusion_run(
        tiny_denoiser, tmp_path, [ProgressLines(every_n_iterations=1, stream=stream), ReportCallback("teacher")]
    )
    counted = [int(m) for m in re.findall(r"^iteration (\d+)/4", stream.getvalue(), flags=re.M)]
    assert counted == [1, 2, 3, 4]  # the trainer's steps, on across epochs
    assert trainer.global_step == 4
    assert json.loads((tmp_path / "report.json").read_text())["iterations"] == 4.0
    assert "teacher (4 iterations)" in capsys.readouterr().out


class Steps(PeriodicEvalCallback):
    requires = LightningModule

    def evaluate(self, trainer, pl_module, final):
        return {"steps": float(trainer.global_step)}


def test_evaluations_refuse_a_module_they_cannot_sample_before_training(tiny_denoiser, tmp_path):
    class Sampling(Steps):
        requires = UnlearningModule

    with pytest.raises(
        ConfigError,
        match=r"trainer.callbacks.Sampling.*unlearning run \(SFDModule or a baseline\), got "
        "DiffusionModule",
    ):
        diffusion_run(tiny_denoiser, tmp_path, [Sampling(every_n_iterations=1)])
    steps = Steps(every_n_iterations=2)
    diffusion_run(tiny_denoiser, tmp_path, [steps])
    assert [i for i, _ in steps.history] == [2, 4]  # every two optimiser steps, the last once


@pytest.mark.parametrize("callback", [SamplerSpeedCallback, AttackCallback])
def test_callbacks_of_the_one_step_generator_refuse_a_baseline_before_training(callback, tiny_denoiser):
    callback().setup(None, make_module(tiny_denoiser), "fit")
    with pytest.raises(ConfigError, match=rf"trainer.callbacks.{callback.__name__}.*\(SFDModule\), got ESDModule"):
        callback().setup(None, BUILDERS["esd"](tiny_denoiser()), "fit")


def test_no_module_or_trainer_is_probed_for_what_it_has():
    """Modules and data modules are read through their types (UnlearningModule, PromptDataModule, isinstance), never by
    getattr/hasattr on a LightningModule, the trainer or its data module."""
    root = pathlib.Path(sfd_lightning.__file__).parent
    names = r"(?:self\.)?(?:pl_module|lightning_module|trainer|trainer\.lightning_module|trainer\.datamodule|data)"
    probe = re.compile(rf"\b(?:getattr|hasattr)\(\s*{names}\s*,")
    found = [
        f"{p.relative_to(root)}:{i}"
        for p in root.rglob("*.py")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if probe.search(line)
    ]
    assert found == []


def test_a_baseline_forgets_its_one_class_and_sfd_its_list(tiny_denoiser):
    from sfd_lightning.forgetting import ForgetClass

    assert BUILDERS["esd"](tiny_denoiser(), override_label=2).forget_classes == (ForgetClass(0, 2),)
    assert BUILDERS["esd"](tiny_denoiser()).forget_classes == (ForgetClass(0, None),)
    sfd = make_module(tiny_denoiser, forget_label=[0, 2], override_label=1)
    assert sfd.forget_classes == (ForgetClass(0, 1), ForgetClass(2, 1)) and sfd.forget_concepts == ()
