"""ForgetMetrics: one forgotten class exactly as before lists were allowed; several judged per class."""

import math

import pytest
import torch

from sfd_lightning.metrics.forget import ForgetMetrics

# What ForgetMetrics gave for one forgotten class before it took several (recorded from that code, in its key order,
# on the fixed logits of `fixed_logits`, fed in two updates).
BEFORE = {
    (2, 4): {
        "forget/accuracy": 0.4166666666666667,
        "forget/prob": 0.3436801344627649,
        "forget/entropy": 0.9904876596289505,
        "retained/accuracy": 0.3333333333333333,
        "forget/ua": 0.5833333333333333,
        "forget/override_rate": 0.16666666666666666,
        "retained/accuracy_0": 0.3333333333333333,
        "retained/accuracy_1": 0.16666666666666666,
        "retained/accuracy_3": 0.5833333333333334,
        "retained/accuracy_4": 0.25,
    },
    (0, None): {
        "forget/accuracy": 0.3333333333333333,
        "forget/prob": 0.3090135267956056,
        "forget/entropy": 0.7465934346505724,
        "retained/accuracy": 0.3541666666666667,
        "forget/ua": 0.6666666666666667,
        "retained/accuracy_1": 0.16666666666666666,
        "retained/accuracy_2": 0.4166666666666667,
        "retained/accuracy_3": 0.5833333333333334,
        "retained/accuracy_4": 0.25,
    },
}


def fixed_logits():
    g = torch.Generator().manual_seed(41)
    return torch.randn(60, 5, generator=g, dtype=torch.float64) * 2, torch.arange(60) % 5  # (60, 5), (60,)


@pytest.mark.parametrize("forget, override", list(BEFORE))
def test_one_forgotten_class_gives_what_it_gave_before(forget, override):
    logits, labels = fixed_logits()
    m = ForgetMetrics(5, forget, override)
    m.update(logits[:25], labels[:25])
    m.update(logits[25:], labels[25:])
    out = m.compute()
    assert list(out) == list(BEFORE[forget, override])
    assert out == pytest.approx(BEFORE[forget, override], rel=1e-12)


def one_hot_logits(preds, k, margin=10.0):
    out = torch.zeros(len(preds), k)
    out[torch.arange(len(preds)), torch.tensor(preds)] = margin
    return out


def test_several_forgotten_classes_are_judged_per_class():
    """Classes 0 and 2 of 4 forgotten (overrides 1 and None): rates 1/4 and 3/4, the worst 3/4."""
    m = ForgetMetrics(4, [0, 2], [1, None])
    labels = torch.tensor([0, 0, 0, 0, 2, 2, 2, 2, 1, 1, 3, 3])
    preds = [0, 1, 1, 3, 2, 2, 2, 1, 1, 3, 3, 3]
    m.update(one_hot_logits(preds, 4), labels)
    out = m.compute()
    assert out["forget/accuracy_0"] == pytest.approx(0.25) and out["forget/accuracy_2"] == pytest.approx(0.75)
    assert out["forget/accuracy"] == pytest.approx(0.75) and out["forget/ua"] == pytest.approx(0.25)
    assert out["forget/accuracy_mean"] == pytest.approx(0.5)
    # only class 0 has a fixed override: 2 of its 4 samples went to 1 (class 2's sample shown as 1 does not count)
    assert out["forget/override_rate"] == pytest.approx(0.5)
    assert out["retained/accuracy"] == pytest.approx(0.75)
    assert out["retained/accuracy_1"] == pytest.approx(0.5) and out["retained/accuracy_3"] == pytest.approx(1.0)
    assert "retained/accuracy_0" not in out and "retained/accuracy_2" not in out
    p_win = math.exp(10) / (math.exp(10) + 3)  # each forget sample's own class: 4 winners of 8, 4 losers
    assert out["forget/prob"] == pytest.approx((4 * p_win + 4 * (1 - p_win) / 3) / 8, rel=1e-6)
    p_lose = (1 - p_win) / 3
    assert out["forget/entropy"] == pytest.approx(-(p_win * math.log(p_win) + 3 * p_lose * math.log(p_lose)))


def test_each_class_is_scored_against_its_own_override():
    m = ForgetMetrics(4, [0, 2], [1, 3])
    m.update(one_hot_logits([1, 3, 3, 1], 4), torch.tensor([0, 0, 2, 2]))  # 0->1 yes, 0->3 no, 2->3 yes, 2->1 no
    assert m.compute()["forget/override_rate"] == pytest.approx(0.5)
    shared = ForgetMetrics(4, [0, 2], 1)  # one override for both
    shared.update(one_hot_logits([1, 3, 3, 1], 4), torch.tensor([0, 0, 2, 2]))
    assert shared.compute()["forget/override_rate"] == pytest.approx(0.5)
    unfixed = ForgetMetrics(4, [0, 2], [None, None])
    unfixed.update(one_hot_logits([1, 3, 3, 1], 4), torch.tensor([0, 0, 2, 2]))
    assert "forget/override_rate" not in unfixed.compute()


def test_a_list_of_one_class_is_that_class():
    logits, labels = fixed_logits()
    one, listed = ForgetMetrics(5, 2, 4), ForgetMetrics(5, [2], [4])
    one.update(logits, labels)
    listed.update(logits, labels)
    assert listed.compute() == one.compute()


def test_several_classes_merge_like_ddp():
    logits, labels = fixed_logits()
    whole = ForgetMetrics(5, [1, 3], [0, None])
    whole.update(logits, labels)
    ranks = [ForgetMetrics(5, [1, 3], [0, None]) for _ in range(2)]
    ranks[0].update(logits[::2], labels[::2])
    ranks[1].update(logits[1::2], labels[1::2])
    ranks[0].merge_state(ranks[1])
    assert ranks[0].compute() == pytest.approx(whole.compute())


def test_names_and_bad_lists():
    m = ForgetMetrics(3, [0, 1], names=["a_cat", "a_dog"])
    m.update(one_hot_logits([0, 2], 3), torch.tensor([0, 1]))
    assert {"forget/accuracy_a_cat", "forget/accuracy_a_dog"} <= set(m.compute())
    with pytest.raises(ValueError, match="distinct"):
        ForgetMetrics(3, [0, 0])
    with pytest.raises(ValueError, match="one per class"):
        ForgetMetrics(3, [0, 1], [2])
