"""Lineage: steps, unions of what releases forgot, the teacher's fingerprint, and malformed lineages refused."""

import copy

import pytest
import torch
from torch import nn

from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting import Concept, ForgetClass
from sfd_lightning.forgetting.lineage import (
    check_lineage,
    check_teacher,
    forget_record,
    forget_set_meta,
    forgotten_classes,
    forgotten_concepts,
    step,
    teacher_fingerprint,
    union_classes,
    union_concepts,
)


def steps():
    first = step(forget_record(classes=[ForgetClass(0, 1)]), "h1", "t", "2026-01-01")
    second = step(forget_record(classes=[ForgetClass(3, 8), ForgetClass(5, None)]), "h2", "t", "2026-02-01")
    return [step({}, "h0", "t", "2025-12-01"), first, second]


def test_forgotten_classes_are_the_union_in_request_order():
    assert forgotten_classes(steps(), "f") == (ForgetClass(0, 1), ForgetClass(3, 8), ForgetClass(5, None))
    assert forget_set_meta(steps()) == {"forget_label": [0, 3, 5], "override_label": [1, 8, None]}
    assert forget_set_meta(steps()[:2]) == {"forget_label": 0, "override_label": 1}
    assert forget_set_meta(steps()[:1]) == {}


def test_union_keeps_earlier_classes_and_refuses_contradictions():
    before = (ForgetClass(0, 1),)
    assert union_classes(before, (ForgetClass(3, 8), ForgetClass(0, 1)), "f") == (ForgetClass(0, 1), ForgetClass(3, 8))
    with pytest.raises(ConfigError, match="^f: class 0 was forgotten before with override 1"):
        union_classes(before, (ForgetClass(0, 2),), "f")
    with pytest.raises(ConfigError, match="^f: overrides class 3 with 0, which the release forgot"):
        union_classes(before, (ForgetClass(3, 0),), "f")


def test_concept_union_and_meta():
    lineage = [step(forget_record(concepts=[Concept("seven", "one")]), "h", "t")]
    assert forgotten_concepts(lineage, "f") == (Concept("seven", "one"),)
    assert forget_set_meta(lineage) == {"concepts": [{"concept": "seven", "replacement": "one"}]}
    both = union_concepts(forgotten_concepts(lineage, "f"), (Concept("Seven", "one"), Concept("three", "eight")), "f")
    assert both == (Concept("seven", "one"), Concept("three", "eight"))
    with pytest.raises(ConfigError, match="^f: 'seven' was forgotten before with replacement 'one'"):
        union_concepts(both, (Concept("seven", "two"),), "f")


@pytest.mark.parametrize("lineage", [None, [], [{"forget": {}}], [{"forget": {"labels": []}, "teacher": "t"}], "x"])
def test_a_missing_or_malformed_lineage_is_refused(lineage):
    with pytest.raises(ConfigError, match="^model.previous: 'rel'"):
        check_lineage(lineage, "'rel'", "model.previous")


def test_the_fingerprint_follows_the_weights_not_their_dtype():
    torch.manual_seed(0)
    net = nn.Linear(300, 20)
    same = teacher_fingerprint(net)
    assert teacher_fingerprint(copy.deepcopy(net).to(torch.bfloat16)) == same
    with torch.no_grad():
        net.weight[19, 299] += 1.0  # the last value, always sampled (256 of the 6,000, evenly spread, both ends)
    assert teacher_fingerprint(net) != same
    check_teacher(steps(), "t", "'rel'", "model.previous")
    with pytest.raises(ConfigError, match="^model.previous: 'rel' was made from another teacher"):
        check_teacher(steps(), "u", "'rel'", "model.previous")
