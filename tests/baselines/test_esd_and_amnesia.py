"""ESD's training samples and Selective Amnesia's memory (their losses' formulas: tests/losses)."""

import torch
from seeded_weights import seeded_module

from sfd_lightning.baselines.esd import ESDModule
from sfd_lightning.diffusion.samplers import ddim, ddim_sigmas


def test_ddim_stopped_at_a_level_returns_that_levels_noisy_sample(tiny_denoiser):
    denoiser, z, labels = tiny_denoiser(num_classes=3), torch.randn(2, 1, 8, 8), torch.tensor([0, 1])
    sigmas = ddim_sigmas(denoiser, 5)
    assert torch.equal(ddim(denoiser, z, labels, 5, stop_at=0), z * sigmas[0])  # level 0: pure noise
    with torch.no_grad():
        x1 = ddim(denoiser, z, labels, 5, stop_at=1)
        x0_hat = denoiser(z * sigmas[0], sigmas[0], labels)
    assert torch.allclose(x1, x0_hat + sigmas[1] * (z * sigmas[0] - x0_hat) / sigmas[0], atol=1e-5)  # one DDIM step


def test_esd_trains_the_forget_label_towards_negative_guidance(tiny_denoiser):
    from sfd_lightning.losses.esd import esd_loss

    module = ESDModule(seeded_module(tiny_denoiser(num_classes=3), "esd"), num_classes=3, forget_label=1, ddim_steps=4)
    z = torch.randn(8, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    batch = {"generator": {"z": z, "labels": torch.zeros(8, dtype=torch.long)}}
    labels = torch.full((8,), 1)
    x, sigma = module.noisy_samples(z, labels, torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(module.student.parameters(), lr=1e-3)
    before = esd_loss(module.student, module.teacher, x, sigma, labels).mean().item()
    for _ in range(5):
        optimizer.zero_grad()
        module.training_step(batch, 0).backward()
        optimizer.step()
    assert esd_loss(module.student, module.teacher, x, sigma, labels).mean().item() < before
    assert all(not p.requires_grad for p in module.teacher.parameters())


def test_a_baselines_report_names_its_fine_tuned_sampler_not_a_generator(tiny_denoiser, tmp_path, capsys):
    from lightning.pytorch import Callback, Trainer

    from sfd_lightning.callbacks import ReportCallback
    from sfd_lightning.data import NoiseLabelDataModule

    class FID(Callback):  # what FIDCallback leaves in the metrics
        def on_train_end(self, trainer, pl_module):
            trainer.callback_metrics.update({"fid/generator": torch.tensor(0.5), "fid/ratio": torch.tensor(2.0)})

    module = ESDModule(tiny_denoiser(num_classes=3), num_classes=3, forget_label=1, ddim_steps=2, sample_steps=4)
    Trainer(
        accelerator="cpu",
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
        callbacks=[FID(), ReportCallback("ESD")],
    ).fit(
        module,
        datamodule=NoiseLabelDataModule(shape=(1, 8, 8), batch_size=2, iterations=1, num_classes=3, forget_label=1),
    )
    printed = capsys.readouterr().out
    assert (
        "FID retained classes, fine-tuned 4-step DDIM" in printed and "FID ratio fine-tuned model / teacher" in printed
    )
    assert "one-step" not in printed
