"""The flow-matching adapter, worked by hand on a Gaussian data distribution, whose velocity and
posterior mean are known in closed form.

Data x0 ~ N(mu, s^2) per coordinate. In the sigma form x = x0 + sigma eps the posterior mean is
E[x0 | x] = mu + s^2 / (s^2 + sigma^2) (x - mu). On the flow x_t = (1 - t) x0 + t eps,
E[x0 | x_t] = mu + (1 - t) s^2 / ((1 - t)^2 s^2 + t^2) (x_t - (1 - t) mu),
E[eps | x_t] = (x_t - (1 - t) E[x0 | x_t]) / t, and the velocity is v = E[eps | x_t] - E[x0 | x_t].
"""

import pytest
import torch
from torch import nn

from sfd_lightning.diffusion import FlowDenoiser, FlowSchedule, VPDenoiser, VPSchedule, guided, sample_ddim
from sfd_lightning.diffusion.flow_schedule import TOP_TIME
from sfd_lightning.errors import ConfigError
from sfd_lightning.losses.denoising import denoising_loss
from sfd_lightning.losses.sid import sid_generator_loss


class GaussianFlow(nn.Module):
    """The exact velocity of N(mu, s^2) data; records the flow times it is called at."""

    def __init__(self, mu: float, s: float):
        super().__init__()
        self.mu, self.s2, self.times = mu, s * s, []

    def forward(self, x_t, t, labels):
        self.times.append(t.clone())
        t = t.view(-1, *([1] * (x_t.dim() - 1)))
        x0 = self.mu + (1 - t) * self.s2 / ((1 - t) ** 2 * self.s2 + t**2) * (x_t - (1 - t) * self.mu)
        return (x_t - (1 - t) * x0) / t - x0


class GaussianEps(nn.Module):
    """The exact eps of N(mu, s^2) data for a VP network: x_t = a x0 + b eps at timestep t of ``schedule``."""

    def __init__(self, mu: float, s: float, schedule: VPSchedule):
        super().__init__()
        self.mu, self.s2, self.schedule = mu, s * s, schedule

    def forward(self, x_t, t, labels):
        a2 = self._alpha_bar(t)
        a, b2 = a2.sqrt(), 1 - a2
        x0 = self.mu + a * self.s2 / (a2 * self.s2 + b2) * (x_t - a * self.mu)
        return (x_t - a * x0) / b2.sqrt()

    def _alpha_bar(self, t):  # alpha_bar at the continuous timestep: the adapter's log-sigma interpolation undone
        lo = t.floor().long().clamp(max=self.schedule.num_timesteps - 2)
        frac = (t - lo).view(-1, 1, 1, 1)
        log_sigmas = self.schedule.log_sigmas
        log_sigma = log_sigmas[lo].view(-1, 1, 1, 1) * (1 - frac) + log_sigmas[lo + 1].view(-1, 1, 1, 1) * frac
        return 1 / (1 + log_sigma.exp() ** 2)


def test_x0_hat_and_denoising_loss_equal_the_hand_worked_values():
    # mu 0.5, s 2, t 0.2: sigma = 0.2 / 0.8 = 0.25. x0 = 1, eps = 2: x = 1.5 in the sigma form.
    # E[x0 | x] = 0.5 + 4 / (4 + 1/16) * 1 = 0.5 + 64/65; the eps loss (x0_hat - x0)^2 / sigma^2 = (63/130)^2 * 16.
    d = FlowDenoiser(GaussianFlow(0.5, 2.0))
    x0, eps, sigma = torch.ones(1, 1, 1, 1), torch.full((1, 1, 1, 1), 2.0), torch.tensor([0.25])
    x0_hat = d(x0 + sigma * eps, sigma)
    assert x0_hat.item() == pytest.approx(0.5 + 64 / 65, rel=1e-6)
    torch.testing.assert_close(d.net.times[0], torch.tensor([0.2]))  # the network runs at the flow time
    assert denoising_loss(d, x0, sigma, eps, None).item() == pytest.approx((63 / 130) ** 2 * 16, rel=1e-5)


def test_network_sees_the_flow_interpolant():
    seen = []

    class Spy(nn.Module):
        def forward(self, x_t, t, labels):
            seen.append(x_t.clone())
            return torch.zeros_like(x_t)

    x0, eps, t = torch.randn(3, 2, 2, 2), torch.randn(3, 2, 2, 2), torch.tensor([0.1, 0.5, 0.9])
    sigma = t / (1 - t)
    x0_hat = FlowDenoiser(Spy())(x0 + sigma.view(-1, 1, 1, 1) * eps, sigma)
    x_t = (1 - t.view(-1, 1, 1, 1)) * x0 + t.view(-1, 1, 1, 1) * eps
    torch.testing.assert_close(seen[0], x_t)
    torch.testing.assert_close(x0_hat, x_t)  # v_hat = 0: x0_hat = x_t


def test_sid_loss_on_two_gaussian_flows_equals_the_hand_worked_value():
    # teacher N(0.5, 2^2), fake score N(0, 1); x_g = 1, eps = 2, sigma = 0.25 (x = 1.5), alpha 1.2:
    # p = 0.5 + 64/65, q = E_fake[x0 | x] = 1 / (1 + 1/16) * 1.5 = 24/17, omega = |p - 1|;
    # loss = (p - q) ((p - 1) - 1.2 (p - q)) / omega.
    teacher, fake = FlowDenoiser(GaussianFlow(0.5, 2.0)), FlowDenoiser(GaussianFlow(0.0, 1.0))
    p, q = 0.5 + 64 / 65, 24 / 17
    want = (p - q) * ((p - 1) - 1.2 * (p - q)) / abs(p - 1)
    got = sid_generator_loss(
        teacher,
        fake,
        torch.ones(1, 1, 1, 1),
        torch.tensor([0.25]),
        torch.full((1, 1, 1, 1), 2.0),
        None,
        None,
        alpha=1.2,
    )
    assert got.item() == pytest.approx(want, rel=1e-5)


def test_a_vp_model_and_a_flow_model_of_the_same_data_agree_through_their_adapters():
    schedule = VPSchedule("scaled_linear", beta_start=0.00085, beta_end=0.012)
    vp, flow = VPDenoiser(GaussianEps(0.3, 1.5, schedule), schedule), FlowDenoiser(GaussianFlow(0.3, 1.5))
    sigma = schedule.sigmas[torch.tensor([20, 300, 625, 980])]  # grid points: no interpolation in the VP adapter
    x = 0.3 + torch.randn(4, 1, 3, 3) * (1.5**2 + sigma.view(-1, 1, 1, 1) ** 2).sqrt()
    exact = 0.3 + 1.5**2 / (1.5**2 + sigma.view(-1, 1, 1, 1) ** 2) * (x - 0.3)
    torch.testing.assert_close(vp(x, sigma), exact, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(flow(x, sigma), exact, rtol=1e-4, atol=1e-4)


def test_guidance_of_x0_equals_guidance_of_the_velocity():
    class Labelled(nn.Module):
        def forward(self, x_t, t, labels):
            return x_t * 0.5 + labels.float().view(-1, 1, 1, 1)

    d, x, sigma = FlowDenoiser(Labelled()), torch.randn(2, 1, 2, 2), torch.tensor(3.0)
    x_t, t = x / 4, 0.75
    v = lambda c: x_t * 0.5 + c  # noqa: E731
    want = x_t - t * (v(-1) + 4.5 * (v(torch.tensor([2.0, 5.0]).view(-1, 1, 1, 1)) - v(-1)))
    torch.testing.assert_close(guided(d, x, sigma, torch.tensor([2, 5]), 4.5), want)


def test_schedule_is_the_model_schedulers_grid_with_its_shift():
    from diffusers import FlowMatchEulerDiscreteScheduler

    sd3 = FlowSchedule(shift=3.0)
    ref = FlowMatchEulerDiscreteScheduler(shift=3.0)
    ref.set_timesteps(1000)
    times = ref.sigmas[:-1].flip(0).double().clamp(max=TOP_TIME)
    torch.testing.assert_close(sd3.sigmas.double(), times / (1 - times), rtol=1e-5, atol=0)
    # FLUX-dev at 1024 x 1024 (4096 tokens): mu = max_shift = 1.15; its shift e^1.15 multiplies the unshifted sigmas
    flux = FlowSchedule(image_tokens=4096)
    assert flux.mu == pytest.approx(1.15)
    torch.testing.assert_close(flux.sigmas[:900], torch.e**1.15 * FlowSchedule().sigmas[:900], rtol=1e-4, atol=0)
    assert FlowSchedule(image_tokens=1024).mu == pytest.approx(0.5 + 0.65 * 768 / 3840)
    assert FlowSchedule().sigma_to_t(torch.tensor(3.0)).item() == 0.75


def test_euler_sampling_equals_diffusers_flow_scheduler_loop():
    from diffusers import FlowMatchEulerDiscreteScheduler

    torch.manual_seed(0)
    net, noise, steps = GaussianFlow(0.5, 0.7), torch.randn(4, 1, 3, 3), 8
    ours = sample_ddim(FlowDenoiser(net, FlowSchedule(shift=3.0)), noise, [""] * 4, steps=steps)
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0)
    scheduler.set_timesteps(steps)
    x = noise.clone()
    for timestep in scheduler.timesteps:
        t = timestep.expand(4) / 1000
        x = scheduler.step(net(x, t.clamp(max=TOP_TIME), None), timestep, x).prev_sample
    torch.testing.assert_close(ours, x, rtol=1e-3, atol=1e-3)


def test_bad_flow_schedule_arguments_name_the_field():
    with pytest.raises(ConfigError, match="schedule.shift"):
        FlowSchedule(shift=0)
    with pytest.raises(ConfigError, match="schedule.image_tokens"):
        FlowSchedule(image_tokens=0)
