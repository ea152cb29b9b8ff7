"""The judge protocol's class judges: verdicts on detached images under no_grad, refusing non-finite images, and the
gradient side an attack's surrogate offers only for a differentiable judge."""

import pytest
import torch

from sfd_lightning.data.finite import NonFiniteImagesError
from sfd_lightning.judges.classifier import ClassifierJudge
from sfd_lightning.judges.protocol import ClassJudge, Surrogate, rates

INF = float("inf")


def classifier():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))


def test_attack_judges_refuse_nonfinite_images():
    judge = ClassifierJudge(classifier(), "attack judge judge")
    images = torch.zeros(3, 1, 8, 8)
    assert judge.classes(images).shape == (3,)
    images[0] = INF
    with pytest.raises(NonFiniteImagesError, match="attack judge judge: 1 of 3 images"):
        judge.probabilities(images)


def test_verdicts_carry_no_gradient_and_the_surrogate_side_does():
    judge = ClassifierJudge(classifier())
    images = torch.zeros(2, 1, 8, 8, requires_grad=True)
    assert not judge.probabilities(images).requires_grad and not judge.verdict_logits(images).requires_grad
    log_prob = Surrogate(judge).log_prob(images, 1)
    assert log_prob.shape == (2,) and log_prob.requires_grad
    torch.testing.assert_close(log_prob, judge.logits(images).log_softmax(1)[:, 1])


def test_the_share_of_images_given_their_classes_by_hand():
    judge = ClassifierJudge(classifier())
    images = torch.randn(6, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    classes = judge.classes(images)
    assert rates({"j": judge}, images, classes) == {"j": 1.0}
    assert rates({"j": judge}, images, (classes + 1) % 3) == {"j": 0.0}


def test_only_a_differentiable_judge_is_a_surrogate():
    class Frozen(ClassJudge):
        differentiable = False

    with pytest.raises(TypeError, match="Frozen gives no gradients"):
        Surrogate(Frozen())
