"""Reading checkpoints: a file that is empty, cut short or not a checkpoint at all is one line naming the field
and the file, whichever field pointed at it."""

import io
import random

import pytest
import torch

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.checkpoint import read_any
from sfd_lightning.io.source import Source


def saved(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


DAMAGED = {
    "zero bytes": lambda: b"",
    "empty zip": lambda: b"PK\x05\x06" + bytes(18),
    "text": lambda: b"hello world\n",
    "random bytes": lambda: random.Random(0).randbytes(4096),
    "truncated": lambda: saved({"w": torch.ones(64)})[:300],
}


@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize("field", ["--ckpt", "model.teacher_ckpt", "ckpt_path"])
@pytest.mark.parametrize("kind", list(DAMAGED))
def test_a_damaged_checkpoint_is_one_line_naming_the_field_and_file(tmp_path, kind, field, mmap):
    path = tmp_path / "last.ckpt"
    path.write_bytes(DAMAGED[kind]())
    with pytest.raises(ConfigError) as err:
        read_any(Source(str(path), field), mmap=mmap)
    message = str(err.value)
    assert message.startswith(f"{field}: cannot read checkpoint {str(path)!r}") and "\n" not in message
    assert ("is empty (0 bytes)" in message) == (kind == "zero bytes")
    assert ("is not a PyTorch checkpoint" in message) == (kind in ("empty zip", "text", "random bytes"))


def wide_teacher_asset(tmp_path) -> str:
    """The digits teacher asset with its stored width 256 times its weights' (``ch: 4096``)."""
    from project import ASSETS

    asset = torch.load(ASSETS / "digits_teacher.pt", weights_only=True)
    asset["config"]["init_args"]["net"]["init_args"]["ch"] = 4096
    path = tmp_path / "wide.pt"
    torch.save(asset, path)
    return str(path)


def test_assets_are_shape_checked_before_they_are_built(tmp_path, built_on, run_cli, capsys):
    """Every reader of a stored config (an asset, load_teacher, a checkpoint sfd sample reads) compares the weights
    with the network built on the meta device, and refuses a mismatch before building it for real."""
    from sfd_lightning.io.asset import load_exported
    from sfd_lightning.io.teacher import load_teacher

    path = wide_teacher_asset(tmp_path)
    for field, load in [
        ("asset", lambda: load_exported(Source(path, "asset"), "denoiser")),
        ("model_config", lambda: load_teacher(None, path)),
    ]:
        with pytest.raises(
            ConfigError, match=f"^{field}: checkpoint .* does not match .*has shape \\(16,\\) .*but \\(4096,\\)"
        ):
            load()
    assert run_cli(["sample", "--ckpt", path, "--steps", "1", "--out", str(tmp_path / "s.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sfd: error: --ckpt: checkpoint") and "(4096,)" in err and "\n" not in err
    assert built_on == ["meta"] * 3
