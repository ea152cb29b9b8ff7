"""Override policies."""

import pytest
import torch

from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting import ForgetClass
from sfd_lightning.override import ClassifierOverride, ClassOverrides, FixedOverride, RandomOverride


def test_fixed_override():
    out = FixedOverride(4)(torch.zeros(3, 1, 8, 8), forgotten=0, num_classes=10)
    assert out.tolist() == [4, 4, 4]
    with pytest.raises(ConfigError, match="must differ"):
        FixedOverride(2).validate(2, 10)


def test_random_override_covers_every_other_class_and_never_the_forget_class():
    torch.manual_seed(0)
    out = RandomOverride()(torch.zeros(5000, 1, 1, 1), forgotten=3, num_classes=10)
    assert set(out.tolist()) == set(range(10)) - {3}
    counts = torch.bincount(out, minlength=10).float()
    assert counts[3] == 0 and counts[counts > 0].min() > 450  # roughly uniform over 9 classes


def test_classifier_override_masks_the_forget_logit(tmp_path):
    from sfd_lightning.io.asset import export_weights
    from sfd_lightning.models.components import ConvClassifier

    net = ConvClassifier(num_classes=4, width=8, num_features=8)
    with torch.no_grad():  # make class 0 (the forget class) win every argmax, class 2 the runner-up
        net.head.weight.zero_()
        net.head.bias.copy_(torch.tensor([10.0, 0.0, 5.0, 0.0]))
    path = tmp_path / "clf.pt"
    export_weights(
        str(path),
        "classifier",
        {
            "class_path": "sfd_lightning.models.components.ConvClassifier",
            "init_args": {"num_classes": 4, "width": 8, "num_features": 8},
        },
        net.state_dict(),
    )
    policy = ClassifierOverride(str(path), mode="argmax")
    assert policy(torch.randn(6, 1, 8, 8), forgotten=0, num_classes=4).tolist() == [2] * 6
    sampled = ClassifierOverride(str(path), mode="sample")(torch.randn(500, 1, 8, 8), forgotten=0, num_classes=4)
    assert 0 not in sampled.tolist() and set(sampled.tolist()) <= {1, 2, 3}
    with pytest.raises(ConfigError, match="classes"):
        policy.validate(0, 10)


def test_random_override_never_picks_any_forgotten_class():
    torch.manual_seed(0)
    out = RandomOverride()(torch.zeros(4000, 1, 1, 1), forgotten=[5, 0, 3], num_classes=10)
    assert set(out.tolist()) == set(range(10)) - {0, 3, 5}
    with pytest.raises(ConfigError, match="^model.override: .*not forgotten"):
        RandomOverride().validate(list(range(4)), 4)


def test_one_random_class_override_draws_what_the_policy_drew_alone():
    torch.manual_seed(1)
    alone = RandomOverride()(torch.zeros(64, 1, 1, 1), forgotten=3, num_classes=10)
    torch.manual_seed(1)
    overrides = ClassOverrides.build([ForgetClass(3, None)], RandomOverride())
    assert torch.equal(overrides(torch.zeros(64, 1, 1, 1), rows=torch.full((64,), 3), num_classes=10), alone)


def test_class_overrides_fixed_per_class_and_the_policy_for_the_rest():
    overrides = ClassOverrides.build([ForgetClass(0, 1), ForgetClass(3, None), ForgetClass(5, 6)], RandomOverride())
    rows = torch.tensor([0, 3, 5] * 200)
    out = overrides(torch.zeros(600, 1, 1, 1), rows=rows, num_classes=10)
    assert set(out[rows == 0].tolist()) == {1} and set(out[rows == 5].tolist()) == {6}
    assert set(out[rows == 3].tolist()) == set(range(10)) - {0, 3, 5}
    overrides.validate([], 10)
    with pytest.raises(ConfigError, match="^model.override_label: .*give an override label or an override policy"):
        ClassOverrides.build([ForgetClass(0, 1), ForgetClass(3, None)], None)
    with pytest.raises(ConfigError, match="^model.override_label: set it to null"):
        ClassOverrides.build([ForgetClass(0, 1)], RandomOverride())
