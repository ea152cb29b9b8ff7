"""``sample(ckpt, ...)``, the Python function under ``sfd sample``: the same file as the command, its checks
naming the command's options before the model is loaded."""

import numpy as np
import pytest
from project import ROOT

from sfd_lightning.cli import main
from sfd_lightning.errors import ConfigError
from sfd_lightning.sample.main import sample

TEACHER = str(ROOT / "assets" / "digits_teacher.pt")


def test_the_function_writes_what_the_command_writes(tmp_path):
    cli = tmp_path / "cli.npz"
    main(["sample", "--ckpt", TEACHER, "--steps", "2", "--labels", "1,2", "--n-per-label", "2", "--out", str(cli)])
    out = sample(TEACHER, steps=2, labels=[1, 2], n_per_label=2, out=str(tmp_path / "py.npz"))
    assert out == str(tmp_path / "py.npz")
    with np.load(cli) as a, np.load(out) as b:
        assert np.array_equal(a["images"], b["images"]) and b["labels"].tolist() == [1, 1, 2, 2]


@pytest.mark.parametrize(
    "options, field",
    [({"n_per_label": 0}, "--n-per-label"), ({"labels": "3-1"}, "--labels"), ({"seed": -1}, "--seed")],
)
def test_bad_arguments_name_the_option_before_the_model_is_read(tmp_path, options, field):
    with pytest.raises(ConfigError, match=f"^{field}:"):
        sample(str(tmp_path / "no-such.ckpt"), out=str(tmp_path / "s.npz"), **options)
