"""Tiny attack targets and classifiers, built in the tests."""

import copy

import pytest
import torch
from seeded_weights import seeded_module as seeded

from sfd_lightning.attack.context import AttackContext
from sfd_lightning.attack.forget_spec import class_spec
from sfd_lightning.attack.inputs import attack_target
from sfd_lightning.attack.registry import AttackSettings
from sfd_lightning.judges.classifier import ClassifierJudge
from sfd_lightning.judges.protocol import Surrogate
from sfd_lightning.models.components import ConvClassifier, MLPClassifier
from sfd_lightning.models.one_step import OneStepGenerator
from sfd_lightning.pipelines.multi_step import MultiStepPipeline
from sfd_lightning.pipelines.one_step import OneStepPipeline


def tiny_classifier(seed: int, mlp: bool = True, num_classes: int = 3) -> torch.nn.Module:
    """A random classifier whose verdicts vary with the image (a sharpened head: a fresh one is nearly uniform)."""
    torch.manual_seed(seed)
    net = (
        MLPClassifier(num_classes=num_classes, hidden=(16, 8))
        if mlp
        else ConvClassifier(num_classes=num_classes, width=8, num_features=8)
    )
    with torch.no_grad():
        net.head.weight.mul_(10.0)
    return net.eval().requires_grad_(False)


@pytest.fixture
def targets(tiny_denoiser):
    """(teacher: 2-step DDIM, sfd: a one-step generator) of tiny random 3-class networks."""
    teacher = seeded(tiny_denoiser(num_classes=3), "teacher")
    generator = OneStepGenerator(seeded(copy.deepcopy(tiny_denoiser(num_classes=3)), "generator"), t_init=400)
    # tanh as the "decoder": images in (-1, 1) whatever the random weights give (an untrained teacher's DDIM ends
    # at the scale of sigma_max, ~157)
    return (
        MultiStepPipeline(teacher, 2, lambda x: torch.tanh(x / 100)),
        attack_target(OneStepPipeline(generator, torch.tanh, {})),
    )


@pytest.fixture
def context():
    """An attack context on class 0 of 3, small budgets, examples: random images the surrogate calls class 0."""

    def make(judge=None, **settings):
        surrogate = tiny_classifier(0)
        judges = {
            "surrogate": ClassifierJudge(surrogate, "attack judge surrogate"),
            "judge": ClassifierJudge(judge or tiny_classifier(1, mlp=False), "attack judge judge"),
        }
        candidates = torch.randn(400, 1, 8, 8, generator=torch.Generator().manual_seed(3)).clamp(-1, 1)
        with torch.no_grad():
            examples = candidates[surrogate(candidates).softmax(1)[:, 0].argsort(descending=True)[:16]]
        small = dict(
            n=16,
            eps=(0.0, 0.5),
            pgd_steps=4,
            restarts=2,
            embedding_steps=(0, 10),
            embedding_batch=16,
            pinpoint_k=1,
            embedding_lr=0.1,
        )
        small.update(settings)
        spec, surrogate = class_spec(3, 0), Surrogate(judges["surrogate"])
        return AttackContext(spec, surrogate, judges, AttackSettings(**small), torch.device("cpu"), examples)

    return make
