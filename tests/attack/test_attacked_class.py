"""Which class an attack targets: the one recorded, --forget-label, or (several forgotten) the one named."""

from types import SimpleNamespace

import pytest

from sfd_lightning.attack.inputs import attacked_class, spec_of
from sfd_lightning.errors import ConfigError


def test_the_recorded_class_or_the_named_one():
    assert attacked_class(0, None) == (0, [0])
    assert attacked_class([0, 3, 5], 3) == (3, [0, 3, 5])
    with pytest.raises(ConfigError, match=r"^--forget-label: this generator forgets classes 0, 3, 5; attack one"):
        attacked_class([0, 3, 5], None)


def spec(meta, forget_label):
    target = SimpleNamespace(net=SimpleNamespace(num_classes=10))
    return spec_of(meta, target, SimpleNamespace(ckpt="m.ckpt", forget_label=forget_label, paraphrases=None))


def test_a_model_that_records_no_class_is_attacked_on_the_named_one():
    """A teacher's or a retrained model's checkpoint records none: sfd compare names the class for them."""
    named = spec({}, 3)
    assert named.forget == [3] and 3 not in named.retained_classes()
    several = spec({"forget_label": [0, 3, 5]}, 3)
    assert several.forget == [3] and not {0, 3, 5} & set(several.retained_classes())
    with pytest.raises(ConfigError, match="^--forget-label: 'm.ckpt' records no forget label; give it"):
        spec({}, None)
