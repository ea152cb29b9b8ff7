"""ForgetMetrics: one forgotten class exactly as before lists were allowed; several judged per class."""

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
