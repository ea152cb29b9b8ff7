"""diffusion/pgd.py: projected gradient ascent scores each point once and returns the best point it scored."""

import torch

from sfd_lightning.diffusion.pgd import pgd_l2


def test_each_point_is_scored_once_and_the_best_scored_point_is_returned():
    scored = []
    target = torch.tensor([3.0, 0.0])

    def objective(z):  # row 0 starts 0.4 from its optimum (the steps, 1.18 long, overshoot it); row 1 starts 3 away
        scored.append(z.detach().clone())
        return -(z.flatten(1) - target).square().sum(1)

    z0 = torch.zeros(2, 2)
    z0[0] = torch.tensor([2.6, 0.0])
    z = pgd_l2(objective, z0, eps=1.0, steps=3, restarts=2)
    assert len(scored) == 2 * (3 + 1)  # z0 is scored by the first step, not twice
    points = torch.stack(scored)  # (evaluations, rows, 2)
    values = -(points - target).square().sum(-1)
    best = values.argmax(dim=0)
    assert torch.equal(z, points[best, torch.arange(2)])
    assert best[0] == 0 and best[1] > 0  # row 0 keeps its start; row 1 moved up
