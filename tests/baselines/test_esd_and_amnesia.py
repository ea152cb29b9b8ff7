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
