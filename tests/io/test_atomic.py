"""Files written whole or not at all, with the permissions an ordinary file gets under the umask."""

import os
import stat

import pytest
import torch
from process_limits import file_size_limit, umask

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.atomic import atomic_write, save_safetensors


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_written_files_get_the_mode_the_umask_gives_ordinary_files(tmp_path, mask, expected):
    with umask(mask):
        atomic_write(str(tmp_path / "a.json"), lambda f: f.write(b"{}"))
        save_safetensors({"w": torch.ones(3)}, str(tmp_path / "w.safetensors"))  # safetensors alone writes 0o600
    assert mode(tmp_path / "a.json") == expected and mode(tmp_path / "w.safetensors") == expected


def test_a_full_disk_is_one_line_and_leaves_the_previous_file(tmp_path):
    path = tmp_path / "w.safetensors"
    save_safetensors({"w": torch.ones(3)}, str(path))
    before = path.read_bytes()
    with file_size_limit(10_000), pytest.raises(ConfigError) as err:
        save_safetensors({"w": torch.ones(100_000)}, str(path), "--out")
    assert (
        str(err.value) == f"--out: cannot write '{path}' (SafetensorError: Error while serializing: I/O error: File "
        "too large (os error 27)); the previous w.safetensors there is intact"
    )
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]
