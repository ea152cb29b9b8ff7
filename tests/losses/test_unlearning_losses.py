"""ESD's negative-guidance loss and the EWC penalty against their papers' formulas, worked out by hand."""

import torch

from sfd_lightning.diffusion.denoiser import Denoiser
from sfd_lightning.losses.esd import eps_of, esd_loss, esd_target
from sfd_lightning.losses.ewc import ewc_penalty


class Scaling(Denoiser):
    """D(x, sigma, c) = a_c * x, so eps(x, c) = (1 - a_c) x / sigma: every quantity has a closed form."""

    def __init__(self, scales):
        super().__init__()
        self.scales = torch.nn.Parameter(torch.tensor(scales))  # a_0, a_1, then a_null for label -1

    def forward(self, x, sigma, labels=None):
        return self.scales[labels].view(-1, 1, 1, 1) * x


def test_esd_target_is_negative_guidance():
    eps_c, eps_u = torch.tensor([3.0]), torch.tensor([1.0])
    assert esd_target(eps_c, eps_u, eta=1.0).item() == -1.0  # 1 - (3 - 1)
    assert esd_target(eps_c, eps_u, eta=0.5).item() == 0.0
    assert esd_target(eps_c, eps_u, eta=0.0).item() == 1.0  # no guidance: the unconditional prediction


def test_esd_loss_matches_the_closed_form_and_only_trains_the_student():
    student, teacher = Scaling([0.2, 0.0, 0.5]), Scaling([0.6, 0.0, 0.5])  # row 2: the null label (-1)
    x, sigma, labels = torch.full((2, 1, 2, 2), 2.0), torch.tensor(4.0), torch.tensor([0, 0])
    loss = esd_loss(student, teacher, x, sigma, labels, eta=1.0)
    eps_s, eps_c, eps_u = (1 - 0.2) * 2 / 4, (1 - 0.6) * 2 / 4, (1 - 0.5) * 2 / 4
    target = eps_u - 1.0 * (eps_c - eps_u)
    assert torch.allclose(loss, torch.full((2,), 4 * (eps_s - target) ** 2))
    loss.sum().backward()
    assert student.scales.grad[0] != 0 and teacher.scales.grad is None
    assert torch.allclose(eps_of(teacher, x, sigma, labels), torch.full_like(x, eps_c))


def test_ewc_penalty_and_its_gradient():
    theta = torch.tensor([1.0, 2.0, -1.0], requires_grad=True)
    anchor, fisher = torch.tensor([0.0, 2.0, 1.0]), torch.tensor([2.0, 5.0, 0.5])
    penalty = ewc_penalty([theta], [anchor], [fisher])
    assert penalty.item() == 2.0 * 1 + 5.0 * 0 + 0.5 * 4  # sum F (theta - theta*)^2
    penalty.backward()
    assert torch.equal(theta.grad, 2 * fisher * (theta.detach() - anchor))
