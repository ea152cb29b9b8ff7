"""SFDBatch: retained rows then forget rows, the teacher's override, dropout and the reference's halves."""

import pytest
import torch

from sfd_lightning.errors import ConfigError
from sfd_lightning.models.sfd_batch import StepDraws, build_sfd_batch


def policy(fake_x0, rows):
    return torch.full((len(fake_x0),), 7)  # an override policy's pick, one per forget row


def test_forget_rows_of_several_classes_reach_the_policy():
    seen = []
    update = {"z": torch.randn(6, 1, 2, 2), "labels": torch.tensor([1, 2, 4]), "forget_labels": torch.tensor([3, 5, 0])}
    batch = build_sfd_batch(update, forgets=True, forget_label=0, policy=lambda x, rows: seen.append(rows) or rows + 1)
    assert batch.labels.tolist() == [1, 2, 4, 3, 5, 0]
    assert batch.teacher(torch.zeros(6, 1, 2, 2)).tolist() == [1, 2, 4, 4, 6, 1] and seen[0].tolist() == [3, 5, 0]


def test_class_batch_forget_rows_and_override_policy():
    z = torch.randn(4, 1, 2, 2)
    batch = build_sfd_batch({"z": z, "labels": torch.tensor([1, 2])}, forgets=True, forget_label=0, policy=policy)
    assert batch.labels.tolist() == [1, 2, 0, 0] and batch.null_labels.tolist() == [-1] * 4 and batch.n_retained == 2
    assert batch.teacher(torch.zeros(4, 1, 2, 2)).tolist() == [1, 2, 7, 7]
    retained, forget = batch.halves()
    assert retained.labels.tolist() == [1, 2] and not retained.forgets and retained.teacher(z[:2]).tolist() == [1, 2]
    assert (
        forget.labels.tolist() == [0, 0] and forget.teacher(z[2:]).tolist() == [7, 7] and torch.equal(forget.z, z[2:])
    )


def test_prompt_batch_negative_prompt_on_forget_rows_only_and_dropout():
    update = {
        "z": torch.randn(4, 1, 2, 2),
        "labels": ["a cat", "a dog"],
        "forget_labels": ["x a man", "a boy, x"],
        "override_labels": ["a man", "a boy"],
        "negative_labels": ["x", "x"],
    }
    batch = build_sfd_batch(update, forgets=True, forget_label=0, policy=policy)
    assert batch.null_labels == ["", "", "x", "x"]
    assert batch.teacher(torch.zeros(4)) == ["a cat", "a dog", "a man", "a boy"]
    dropped = batch.dropped(torch.tensor([False, True, True, False]))
    assert dropped.labels == ["a cat", "", "", "a boy, x"] and dropped.null_labels == ["", "", "", "x"]
    assert dropped.teacher(torch.zeros(4)) == ["a cat", "", "a man", "a boy"]  # the teacher's override stays


def test_distillation_only_batch_and_noise_rows_checked():
    z = torch.randn(4, 1, 2, 2)
    batch = build_sfd_batch({"z": z[:2], "labels": torch.tensor([1, 2])}, forgets=False, forget_label=0, policy=policy)
    assert len(batch) == 2 and not batch.forgets and batch.teacher(z[:2]).tolist() == [1, 2]
    with pytest.raises(ConfigError, match="^data: .*needs noise for the retained and the forget rows"):
        build_sfd_batch({"z": z[:2], "labels": torch.tensor([1, 2])}, forgets=True, forget_label=0, policy=policy)


def test_draws_split_like_the_rows():
    draws = StepDraws(torch.arange(4.0), torch.zeros(4, 1), torch.tensor([True, False, False, True]))
    first, second = draws.halves(1)
    assert first.sigma.tolist() == [0.0] and second.drop.tolist() == [False, False, True]
    assert StepDraws(torch.ones(2), torch.zeros(2, 1)).halves(1)[1].drop is None


def test_forget_rows_taken_from_another_batch_with_their_prompts_and_override():
    mine = build_sfd_batch(
        {
            "z": torch.zeros(4, 1, 2, 2),
            "labels": ["a cat", "a dog"],
            "forget_labels": ["x a", "x b"],
            "override_labels": ["a", "b"],
            "negative_labels": ["x", "x"],
        },
        True,
        0,
        policy,
    )
    theirs = build_sfd_batch(
        {
            "z": torch.ones(4, 1, 2, 2),
            "labels": ["a cow", "a pig"],
            "forget_labels": ["x c", "x d"],
            "override_labels": ["c", "d"],
            "negative_labels": ["y", "y"],
        },
        True,
        0,
        policy,
    )
    mixed = mine.with_forget_rows_of(theirs)
    assert mixed.labels == ["a cat", "a dog", "x c", "x d"] and mixed.null_labels == ["", "", "y", "y"]
    assert mixed.z[:2].eq(0).all() and mixed.z[2:].eq(1).all() and mixed.n_retained == 2
    assert mixed.teacher(torch.zeros(4)) == ["a cat", "a dog", "c", "d"]
    smaller = build_sfd_batch(
        {"z": torch.ones(2, 1, 2, 2), "labels": ["a"], "forget_labels": ["x"], "override_labels": ["o"]},
        True,
        0,
        policy,
    )
    with pytest.raises(ValueError, match="forget rows differ: 2 against 1"):
        mine.with_forget_rows_of(smaller)
