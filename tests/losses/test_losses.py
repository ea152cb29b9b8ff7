"""Loss functions against values worked out by hand on 1x1x1x2 tensors."""

import pytest
import torch
from torch import nn

from sfd_lightning.losses import denoising_loss, sid_generator_loss


class Affine(nn.Module):
    """D(x, sigma, labels) = scale * x + shift, with a learnable scale (to watch its gradient)."""

    def __init__(self, scale: float, shift: float):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale))
        self.shift = shift

    def forward(self, x, sigma, labels=None):
        return self.scale * x + self.shift


def t(*values):
    return torch.tensor(values, dtype=torch.float32).view(1, 1, 1, -1)


def test_denoising_loss_by_hand():
    # x = x0 + 2 * eps = [3, 0]; x0_hat = [1.5, 0]; (x0_hat - x0) / sigma = [0.25, -1]
    loss = denoising_loss(Affine(0.5, 0.0), t(1.0, 2.0), torch.tensor([2.0]), t(1.0, -1.0), None)
    assert loss.shape == (1,)
    assert loss.item() == pytest.approx(0.0625 + 1.0)


def test_denoising_loss_equals_eps_loss():
    torch.manual_seed(0)
    x0, noise, sigma = torch.randn(4, 1, 2, 2), torch.randn(4, 1, 2, 2), torch.rand(4) + 0.1
    d = Affine(0.3, 0.1)
    x = x0 + sigma.view(-1, 1, 1, 1) * noise
    eps_hat = (x - d(x, sigma)) / sigma.view(-1, 1, 1, 1)
    expected = (noise - eps_hat).square().flatten(1).sum(1)
    torch.testing.assert_close(denoising_loss(d, x0, sigma, noise, None), expected)


@pytest.mark.parametrize("alpha, expected", [(1.0, -0.5 / 0.75), (1.2, -0.525 / 0.75)])
def test_sid_generator_loss_by_hand(alpha, expected):
    # x_g = [1, 2], sigma = 1, eps = [0.5, -0.5] -> x = [1.5, 1.5]
    # teacher p = 0.5 x = [0.75, 0.75]; fake s = x - 1 = [0.5, 0.5]; p - s = [0.25, 0.25]
    # p - x_g = [-0.25, -1.25]; omega = 0.75
    # alpha = 1:   0.25 * (-0.25 - 0.25) + 0.25 * (-1.25 - 0.25) = -0.5
    # alpha = 1.2: 0.25 * (-0.25 - 0.30) + 0.25 * (-1.25 - 0.30) = -0.525
    loss = sid_generator_loss(
        Affine(0.5, 0.0), Affine(1.0, -1.0), t(1.0, 2.0), torch.tensor([1.0]), t(0.5, -0.5), None, None, alpha
    )
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_sid_gradient_reaches_generator_output_not_frozen_teacher():
    teacher, fake = Affine(0.5, 0.0).requires_grad_(False), Affine(0.9, -0.1)
    x_g = t(1.0, 2.0).requires_grad_(True)
    fake.requires_grad_(False)
    sid_generator_loss(teacher, fake, x_g, torch.tensor([1.0]), t(0.5, -0.5), None, None, 1.2).sum().backward()
    assert x_g.grad is not None and x_g.grad.abs().sum() > 0
    assert teacher.scale.grad is None and fake.scale.grad is None


def test_sid_teacher_labels_callable_sees_fake_prediction():
    seen = {}

    def pick(fake_x0):
        seen["x0"] = fake_x0
        return torch.tensor([7])

    class Recorder(Affine):
        def forward(self, x, sigma, labels=None):
            seen["labels"] = labels
            return super().forward(x, sigma, labels)

    sid_generator_loss(
        Recorder(0.5, 0.0),
        Affine(1.0, -1.0),
        t(1.0, 2.0),
        torch.tensor([1.0]),
        t(0.5, -0.5),
        pick,
        torch.tensor([0]),
        1.0,
    )
    torch.testing.assert_close(seen["x0"], t(0.5, 0.5))
    assert not seen["x0"].requires_grad
    assert seen["labels"].tolist() == [7]
