"""Robust SFD (models/robust_forget.py): the forget rows' noise, and nothing else, is pushed inside its ball, up the
teacher's margin; off (the default) the iteration is the reference's (tests/models/test_sfd_module_reference.py)."""

import pytest
import torch
from sfd_modules import fit, make_module, record_step_inputs

from sfd_lightning.diffusion.pgd import radius
from sfd_lightning.errors import ConfigError
from sfd_lightning.models.robust_forget import RobustForget, teacher_margin


def one_iteration(tiny_denoiser, tmp_path, robust):
    torch.manual_seed(0)
    module = make_module(tiny_denoiser, robust=robust)
    seen = record_step_inputs(module)
    fit(module, iterations=1, tmp_path=tmp_path)
    return module, {name: (batch, draws) for name, batch, draws in seen}


@pytest.mark.parametrize("updates", [pytest.param("generator", marks=pytest.mark.slow), "both", "shared"])
def test_only_the_forget_rows_noise_moves_inside_the_ball_and_up_the_margin(tiny_denoiser, tmp_path, updates):
    _, plain = one_iteration(tiny_denoiser, tmp_path / "plain", RobustForget())
    module, robust = one_iteration(
        tiny_denoiser, tmp_path / "robust", RobustForget(noise_eps=0.5, noise_steps=3, updates=updates)
    )
    for name in ("fake_score_step", "generator_step"):
        (b0, d0), (b1, d1) = plain[name], robust[name]
        n = b0.n_retained
        assert n > 0 and len(b0) == 2 * n
        torch.testing.assert_close(b1.z[:n], b0.z[:n], rtol=0, atol=0)  # retained rows: their own noise
        assert torch.equal(b1.labels, b0.labels) and torch.equal(b1.null_labels, b0.null_labels)
        assert torch.equal(d1.sigma, d0.sigma) and torch.equal(d1.noise, d0.noise)  # the same draws: no RNG used
        moved = (b1.z[n:] - b0.z[n:]).flatten(1).norm(dim=1)
        if name == "generator_step" or updates == "both":
            assert (moved > 0).any() and (moved <= radius(0.5, b0.z) * (1 + 1e-5)).all()
        elif updates == "shared":  # the fake score's forget rows are the generator's pushed ones
            assert torch.equal(b1.z[n:], robust["generator_step"][0].z[n:])
        else:
            assert (moved == 0).all()


def test_pushed_rows_score_higher_on_the_teacher_s_margin(tiny_denoiser):
    from sfd_lightning.models.robust_forget import pushed_forget_rows
    from sfd_lightning.models.sfd_batch import SFDBatch, StepDraws

    torch.manual_seed(1)
    module = make_module(tiny_denoiser)
    z, labels = torch.randn(8, 1, 8, 8), torch.tensor([1, 2, 1, 2, 0, 0, 0, 0])
    batch = SFDBatch(z, labels, torch.full((8,), -1), 4, torch.ones(4, dtype=torch.long))
    draws = StepDraws(module.teacher.schedule.sigmas[torch.full((8,), 300)], torch.randn(8, 1, 8, 8))
    pushed = pushed_forget_rows(
        batch, draws, RobustForget(noise_eps=0.5, noise_steps=4), module.teacher, module.one_step()
    )
    margin = teacher_margin(
        module.teacher, module.one_step(), labels[4:], batch.override, draws.sigma[4:], draws.noise[4:]
    )
    with torch.no_grad():
        before, after = margin(z[4:]), margin(pushed.z[4:])
    assert (after >= before).all() and (after > before).float().mean() >= 0.75, (before, after)


def test_the_margin_is_the_teacher_s_denoising_error_under_the_override_minus_under_the_forget_condition():
    teacher = lambda x, sigma, c: x * 0 + c.float().view(-1, 1, 1, 1)  # noqa: E731  (predicts its label everywhere)
    generate = lambda z, c: z  # noqa: E731
    z = torch.full((2, 1, 2, 2), 0.25)
    margin = teacher_margin(
        teacher, generate, torch.tensor([0, 0]), torch.tensor([1, 1]), torch.ones(2), torch.zeros(2, 1, 2, 2)
    )
    # under the override: (1 - 0.25)^2 x 4 pixels = 2.25; under the forget label 0: 0.25^2 x 4 = 0.25
    torch.testing.assert_close(margin(z), torch.tensor([2.0, 2.0]))


def test_off_by_default_and_bad_settings_name_the_field(tiny_denoiser):
    module = make_module(tiny_denoiser)
    assert not module.robust.enabled
    for settings, field in (
        (RobustForget(noise_eps=-1), "noise_eps"),
        (RobustForget(noise_eps=0.5, noise_steps=0), "noise_steps"),
        (RobustForget(noise_eps=0.5, updates="fake"), "updates"),
    ):
        with pytest.raises(ConfigError, match=f"^model.robust.{field}:"):
            make_module(tiny_denoiser, robust=settings)
