"""Reading checkpoints: a file that is empty, cut short or not a checkpoint at all is one line naming the field
and the file, whichever field pointed at it."""
import io
import os

import pytest
import torch

from sfd_lightning.checkpoints import read_any
from sfd_lightning.errors import ConfigError


def saved(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


DAMAGED = {
    "zero bytes": lambda: b"",
    "empty zip": lambda: b"PK\x05\x06" + bytes(18),
    "text": lambda: b"hello world\n",
    "random bytes": lambda: os.urandom(4096),
    "truncated": lambda: saved({"w": torch.ones(64)})[:300],
}


@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize("field", ["--ckpt", "model.teacher_ckpt", "ckpt_path"])
@pytest.mark.parametrize("kind", list(DAMAGED))
def test_a_damaged_checkpoint_is_one_line_naming_the_field_and_file(tmp_path, kind, field, mmap):
    path = tmp_path / "last.ckpt"
    path.write_bytes(DAMAGED[kind]())
    with pytest.raises(ConfigError) as err:
        read_any(str(path), field, mmap=mmap)
    message = str(err.value)
    assert message.startswith(f"{field}: ") and repr(str(path)) in message and "\n" not in message
    assert ("is empty (0 bytes)" in message) == (kind == "zero bytes")

