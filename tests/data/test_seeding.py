"""One seed range for every verb's --seed: what torch's generators take, [0, 2^64) (a negative seed would wrap
around onto a positive one), checked before anything is loaded, drawn or written."""

import re

import pytest
import torch

from sfd_lightning.data.seeding import SEED_LIMIT, check_seed
from sfd_lightning.errors import ConfigError


def test_the_range_is_the_one_torch_s_generators_take():
    for seed in (0, 1, SEED_LIMIT - 1):
        torch.Generator().manual_seed(check_seed(seed, "--seed"))
    with pytest.raises((ValueError, RuntimeError)):
        torch.Generator().manual_seed(SEED_LIMIT)
    for bad, shown in (
        (SEED_LIMIT, " in [0, 2^64), got 18446744073709551616"),
        (-1, " in [0, 2^64), got -1"),
        (1.5, ", got 1.5"),
        (True, ", got True"),
    ):
        with pytest.raises(ConfigError, match="^" + re.escape(f"--seed: a seed is an integer{shown}")):
            check_seed(bad, "--seed")
    with pytest.raises(ConfigError, match=r"^--seed: a seed is an integer in \[0, 2\^32\), got 4294967296"):
        check_seed(2**32, "--seed", limit=2**32)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["sample", "--ckpt", "assets/digits_teacher.pt", "--seed", "-1"],
            r"--seed: a seed is an integer in \[0, 2\^64\), got -1",
        ),
        (
            ["sample", "--ckpt", "assets/digits_teacher.pt", "--seed", str(2**70)],
            r"in \[0, 2\^64\), got 1180591620717411303424",
        ),
        (["sweep", "nowhere.yaml", "--dry-run", "--seed", str(2**32)], r"--seed: a seed is an integer in \[0, 2\^32\)"),
    ],
)
def test_every_verb_s_seed_is_one_line(run_cli, capsys, tmp_path, args, message):
    out = ["--out", str(tmp_path / "s.npz")] if args[0] == "sample" else []
    assert run_cli([*args, *out]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(message, err[0]), err
    assert not (tmp_path / "s.npz").exists()
