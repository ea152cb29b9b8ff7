"""SalUn's weight saliency (Fan et al., 2024, eq. 6-7): a hard threshold on |gradient of the forgetting loss|,
and updates of the salient weights only."""

import torch

from sfd_lightning.baselines.salun import SalUnModule, other_labels, saliency_mask


def test_the_mask_keeps_the_largest_gradient_magnitudes():
    grads = [torch.tensor([0.1, -5.0, 0.3]), torch.tensor([[2.0, -0.2], [0.05, -1.0]])]
    mask = saliency_mask(grads, sparsity=0.5)  # 7 weights: the 4 largest |g| are 5, 2, 1, 0.3
    assert mask[0].tolist() == [0.0, 1.0, 1.0] and mask[1].tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert sum(m.sum() for m in saliency_mask(grads, sparsity=0.0)) == 7


def test_random_labels_are_other_classes_and_cover_them():
    labels = torch.zeros(2000, dtype=torch.long)
    relabelled = other_labels(labels, 10, torch.Generator().manual_seed(0))
    assert (relabelled != 0).all() and set(relabelled.tolist()) == set(range(1, 10))


def test_only_salient_weights_move(tiny_denoiser):
    module = SalUnModule(tiny_denoiser(num_classes=3), num_classes=3, forget_label=0, sparsity=0.7)
    params = [p for p in module.student.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    images, labels = torch.randn(12, 1, 8, 8), torch.tensor([0, 1, 2] * 4)
    module.mask = saliency_mask(
        [torch.randn(p.shape, generator=torch.Generator().manual_seed(i)) for i, p in enumerate(params)], 0.7
    )
    optimizer = torch.optim.SGD(params, lr=0.1)
    module.training_step((images, labels), 0).backward()
    module.on_before_optimizer_step(optimizer)
    optimizer.step()
    moved = [(p.detach() != b) for p, b in zip(params, before)]
    assert not any((mv & (m == 0)).any() for mv, m in zip(moved, module.mask))  # frozen where the mask is 0
    assert any(mv.any() for mv in moved)


def test_the_relabelling_loss_pulls_the_forget_labels_prediction_to_another_labels(tiny_denoiser):
    """l_f = ||eps(x_t | c_f) - sg[eps(x_t | c')]||^2: with D(x, c) = a_c x it is (a_c' - a_f)^2 ||x||^2 / sigma^2, so
    for the same noise it scales with (a_c' - a_f)^2, and only the forget label's prediction gets a gradient."""
    from sfd_lightning.diffusion.schedule import VPSchedule

    class Scaling(torch.nn.Module):
        def __init__(self, a_forget, a_other):
            super().__init__()
            self.scales, self.schedule = torch.nn.Parameter(torch.tensor([a_forget, a_other])), VPSchedule()

        def forward(self, x, sigma, labels):
            return self.scales[labels].view(-1, 1, 1, 1) * x

    module = SalUnModule(tiny_denoiser(num_classes=2), num_classes=2, forget_label=0)  # the other label is always 1
    images, labels = torch.randn(6, 1, 8, 8), torch.zeros(6, dtype=torch.long)
    losses = []
    for a_forget, a_other in ((0.2, 0.5), (0.1, 0.7)):
        module.student = Scaling(a_forget, a_other)
        losses.append(module.relabel_loss(images, labels, torch.Generator().manual_seed(0)))
    assert torch.allclose(losses[1] / losses[0], torch.tensor((0.6 / 0.3) ** 2))
    losses[1].backward()
    assert module.student.scales.grad[0] != 0 and module.student.scales.grad[1] == 0
