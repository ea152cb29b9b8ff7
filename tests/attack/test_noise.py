"""The noise attack (diffusion/pgd.py's projected gradient ascent) is an optimiser that stays inside its budget."""

import pytest
import torch

from sfd_lightning.diffusion.pgd import pgd_l2, radius


def forget_objective(target, ctx):
    labels = torch.zeros(16, dtype=torch.long)
    return lambda z: ctx.surrogate.log_prob(target.generate(z, labels), 0)


@pytest.mark.parametrize("which", [0, 1], ids=["teacher", "sfd"])
def test_pgd_raises_the_surrogates_forget_class_probability(targets, context, which):
    ctx, target = context(), targets[which]
    objective = forget_objective(target, ctx)
    z0 = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    z = pgd_l2(objective, z0, eps=0.5, steps=4, restarts=2)
    with torch.no_grad():
        before, after = objective(z0).exp(), objective(z).exp()
    assert (after >= before).all()  # the best iterate per sample, z0 included
    assert after.mean() > before.mean() + 0.05


@pytest.mark.parametrize("eps", [0.1, 0.5, 2.0])
def test_every_attacked_noise_lies_in_the_ball(targets, context, eps):
    ctx = context()
    z0 = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    z = pgd_l2(forget_objective(targets[1], ctx), z0, eps=eps, steps=5, restarts=3)
    distances = (z - z0).flatten(1).norm(dim=1)
    assert radius(eps, z0) == pytest.approx(eps * 8.0)  # sqrt(d) = 8 for 1x8x8
    assert (distances <= eps * 8.0 * (1 + 1e-5)).all()
    assert (distances > 0).any()  # it moved


def test_a_zero_budget_returns_the_start(targets, context):
    z0 = torch.randn(4, 1, 8, 8)
    assert torch.equal(pgd_l2(lambda z: z.flatten(1).sum(1), z0, eps=0.0), z0)
