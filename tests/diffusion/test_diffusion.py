"""Schedule, denoiser adapter and sampler identities."""

import pytest
import torch
from torch import nn

from sfd_lightning.diffusion import VPDenoiser, VPSchedule, guided, sample_ddim
from sfd_lightning.errors import ConfigError


def test_linear_schedule_values():
    s = VPSchedule()
    assert s.alpha_bar[0].item() == pytest.approx(1 - 1e-4)
    assert s.alpha_bar[1].item() == pytest.approx((1 - 1e-4) * (1 - (1e-4 + (0.02 - 1e-4) / 999)), rel=1e-6)
    t = torch.tensor([0, 38, 440, 999])
    torch.testing.assert_close(s.sigmas[t], (1 - s.alpha_bar[t]).sqrt() / s.alpha_bar[t].sqrt())


def test_sigma_to_t_inverts_the_grid_and_interpolates():
    s = VPSchedule("cosine")
    t = torch.tensor([0, 1, 37, 440, 998, 999])
    torch.testing.assert_close(s.sigma_to_t(s.sigmas[t]), t.float(), atol=1e-3, rtol=0)
    mid = (s.log_sigmas[10] + s.log_sigmas[11]).div(2).exp()
    assert 10 < s.sigma_to_t(mid.view(1)).item() < 11


class ConstantEps(nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, x_t, t, labels):
        self.calls.append((x_t.clone(), t.clone()))
        return torch.full_like(x_t, 0.3)


def test_eps_adapter_matches_discrete_formula():
    schedule, net = VPSchedule(), ConstantEps()
    d = VPDenoiser(net, schedule)
    t = torch.tensor([440, 100])
    x_t = torch.randn(2, 1, 2, 2)
    a, b = schedule.alpha_bar[t].sqrt().view(-1, 1, 1, 1), (1 - schedule.alpha_bar[t]).sqrt().view(-1, 1, 1, 1)
    x0_hat = d(x_t / a, schedule.sigmas[t], None)
    torch.testing.assert_close(x0_hat, (x_t - b * 0.3) / a)
    seen_x, seen_t = net.calls[0]
    torch.testing.assert_close(seen_x, x_t, atol=1e-5, rtol=1e-5)  # the network sees the VP-scaled input
    torch.testing.assert_close(seen_t, t.float(), atol=1e-3, rtol=0)


def test_guidance_scale_one_is_conditional_and_scale_mixes():
    class LabelShift(nn.Module):
        schedule = VPSchedule()

        def forward(self, x, sigma, labels):
            return x * 0 + labels.float().view(-1, 1, 1, 1)

    d, x, y = LabelShift(), torch.zeros(2, 1, 1, 1), torch.tensor([3, 5])
    torch.testing.assert_close(guided(d, x, torch.tensor(1.0), y, 1.0).flatten(), torch.tensor([3.0, 5.0]))
    # uncond = -1: -1 + 2 * (3 - -1) = 7
    torch.testing.assert_close(guided(d, x, torch.tensor(1.0), y, 2.0).flatten(), torch.tensor([7.0, 11.0]))
    # a null condition per row (a negative prompt on some rows): 2 + 2 * (3 - 2) = 4; row 2 keeps -1
    null = torch.tensor([2, -1])
    torch.testing.assert_close(guided(d, x, torch.tensor(1.0), y, 2.0, null).flatten(), torch.tensor([4.0, 11.0]))


def test_ddim_with_exact_denoiser_returns_its_target():
    class Oracle(nn.Module):
        schedule = VPSchedule()

        def forward(self, x, sigma, labels):
            return torch.full_like(x, 0.25)

    out = sample_ddim(Oracle(), torch.randn(3, 1, 2, 2), torch.zeros(3, dtype=torch.long), steps=10)
    torch.testing.assert_close(out, torch.full((3, 1, 2, 2), 0.25))


def test_bad_schedule_names_field():
    with pytest.raises(ConfigError, match="schedule.kind"):
        VPSchedule("quadratic")


def test_stochastic_ddim_with_exact_denoiser_returns_its_target():
    class Oracle(nn.Module):
        schedule = VPSchedule("cosine")

        def forward(self, x, sigma, labels):
            return torch.full_like(x, -0.5)

    out = sample_ddim(
        Oracle(), torch.randn(3, 1, 2, 2), torch.zeros(3, dtype=torch.long), steps=8, eta=1.0
    )  # ancestral
    torch.testing.assert_close(out, torch.full((3, 1, 2, 2), -0.5))
