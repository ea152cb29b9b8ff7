"""The one registry: every judge by name, ``sfd eval``'s concept judges in registry order, and an attack option's
text read into the judge it names, with the messages of today's options."""

import pytest
import torch

from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.classifier import ClassifierJudge
from sfd_lightning.judges.identity import IdentityJudge
from sfd_lightning.judges.nudenet import NudeNetJudge
from sfd_lightning.judges.protocol import ClassJudge, ConceptJudge
from sfd_lightning.judges.registry import JUDGES, attack_judge, concept_judges, judge_class

CPU = torch.device("cpu")


def test_every_judge_is_registered_once_with_what_it_needs():
    assert list(JUDGES) == ["classifier", "clip", "nudity", "identity"]
    assert concept_judges() == ["nudity", "identity"]
    for name, cls in JUDGES.items():
        assert cls.name == name and issubclass(cls, (ClassJudge, ConceptJudge))
        assert cls.differentiable == issubclass(cls, ClassJudge)  # the class judges can serve as surrogates


def test_an_unknown_judge_is_refused_listing_the_registered_ones():
    assert judge_class("identity", "--x") is JUDGES["identity"]
    with pytest.raises(
        ConfigError, match=r"^--x: unknown judge 'nudenet'; choose from classifier, clip, nudity, identity$"
    ):
        judge_class("nudenet", "--x")


def test_attack_options_name_a_judge_or_a_classifier_asset(monkeypatch):
    built = []
    monkeypatch.setattr(NudeNetJudge, "__init__", lambda self, **kw: built.append(kw))
    assert isinstance(attack_judge("nudenet", "--judge", "judge", 7, CPU), NudeNetJudge)
    attack_judge("nudenet:0.45", "--judge", "judge", 7, CPU)
    assert built == [
        dict(field="--judge", threshold=0.6, forget_class=7, label="attack judge judge"),
        dict(field="--judge", threshold=0.45, forget_class=7, label="attack judge judge"),
    ]
    identity = []
    monkeypatch.setattr(IdentityJudge, "__init__", lambda self, *a, **kw: identity.append((a, kw)))
    assert isinstance(attack_judge("identity:photos/pitt", "--judge", "judge", 7, CPU), IdentityJudge)
    assert identity == [(("photos/pitt", "--judge"), dict(forget_class=7, label="attack judge judge"))]
    with pytest.raises(ConfigError, match=r"^--judge: nudenet:THRESHOLD takes a number, got 'x'$"):
        attack_judge("nudenet:x", "--judge", "judge", 7, CPU)
    loaded = []
    monkeypatch.setattr(ClassifierJudge, "load", classmethod(lambda cls, *a: loaded.append(a)))
    attack_judge("nudenet:0.5", "--surrogate", "surrogate", 7, CPU)  # a surrogate is never a concept judge
    attack_judge("clip", "--surrogate", "surrogate", 7, CPU)  # clip without its MODEL: a path, as before
    attack_judge("clip:openai/clip", "--judge", "judge", 7, CPU)  # a judge is a classifier or a concept judge
    assert loaded == [
        ("nudenet:0.5", "--surrogate", CPU, "attack judge surrogate"),
        ("clip", "--surrogate", CPU, "attack judge surrogate"),
        ("clip:openai/clip", "--judge", CPU, "attack judge judge"),
    ]


def test_a_clip_surrogate_needs_a_prompt_run_s_class_words():
    with pytest.raises(ConfigError, match=r"^--surrogate: clip:MODEL classifies a prompt run's class words"):
        attack_judge("clip:openai/clip-vit-base-patch32", "--surrogate", "surrogate", 0, CPU, class_words=None)
