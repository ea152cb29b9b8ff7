"""Weights fingerprinted by content: cached by file identity so a rerun does not rehash, yet a file replaced in place
(same size, its old modification time kept) is seen; a hub id is fingerprinted from the local hub cache."""

import hashlib
import os
import shutil

import pytest

from sfd_lightning.errors import ConfigError
from sfd_lightning.io import fingerprint
from sfd_lightning.io.fingerprint import (
    file_digests,
    fingerprint_config,
    folder_digest,
    local_folder,
    weights_fingerprint,
)


@pytest.fixture
def hashed(monkeypatch, tmp_path):
    """The files hashed (not read from the cache), with the user cache under tmp_path."""
    monkeypatch.setenv("SFD_CACHE_DIR", str(tmp_path / "cache"))
    calls = []
    real = fingerprint.file_sha256
    monkeypatch.setattr(fingerprint, "file_sha256", lambda path: calls.append(os.path.basename(path)) or real(path))
    return calls


def pipeline(folder, unet=b"unet weights"):
    (folder / "unet").mkdir(parents=True)
    (folder / "unet" / "model.safetensors").write_bytes(unet)
    (folder / "model_index.json").write_text("{}")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "download.lock").write_text("bookkeeping")
    return folder


def test_digests_are_cached_and_a_file_copied_over_another_with_its_time_kept_is_seen(tmp_path, hashed):
    path = tmp_path / "w.bin"
    path.write_bytes(b"a" * 1000)
    first = file_digests([str(path)], "--ckpt")
    assert first == {str(path): hashlib.sha256(b"a" * 1000).hexdigest()} and hashed == ["w.bin"]
    assert file_digests([str(path)], "--ckpt") == first and hashed == ["w.bin"]  # from the cache
    other = tmp_path / "other.bin"
    other.write_bytes(b"b" * 1000)
    os.utime(other, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))
    shutil.copy2(other, path)  # same size, same modification time, other bytes
    assert file_digests([str(path)], "--ckpt")[str(path)] == hashlib.sha256(b"b" * 1000).hexdigest()
    (tmp_path / "cache" / "file_digests.json").write_text("{broken")  # a corrupt cache costs a rehash only
    assert file_digests([str(path)], "--ckpt")[str(path)] == hashlib.sha256(b"b" * 1000).hexdigest()
    with pytest.raises(ConfigError, match="^--ckpt: cannot read .*gone.bin"):
        file_digests([str(tmp_path / "gone.bin")], "--ckpt")


def test_a_folder_digest_follows_the_contents_not_the_place(tmp_path, hashed):
    a = pipeline(tmp_path / "a")
    b = pipeline(tmp_path / "b")
    assert folder_digest(str(a), "--teacher") == folder_digest(str(b), "--teacher")
    (b / ".cache" / "download.lock").write_text("other bookkeeping")  # hidden folders are not the model
    assert folder_digest(str(a), "--teacher") == folder_digest(str(b), "--teacher")
    (b / "unet" / "model.safetensors").write_bytes(b"UNET WEIGHTS")
    assert folder_digest(str(a), "--teacher") != folder_digest(str(b), "--teacher")


def test_configs_carry_their_pretrained_folders_digests_and_hub_ids_resolve_offline(tmp_path, hashed, monkeypatch):
    """A hub id is read from the local hub cache (models--org--name/snapshots/<revision>), nothing downloaded."""
    cache = tmp_path / "hub"
    snapshot = pipeline(cache / "models--org--tiny" / "snapshots" / ("0" * 40))
    (cache / "models--org--tiny" / "refs").mkdir()
    (cache / "models--org--tiny" / "refs" / "main").write_text("0" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))
    assert os.path.samefile(local_folder("org/tiny", "--teacher"), snapshot)
    with pytest.raises(ConfigError, match="^--teacher: cannot find the local files of 'org/absent'"):
        local_folder("org/absent", "--teacher")
    local = pipeline(tmp_path / "local")
    config = {"class_path": "X", "init_args": {"net": {"init_args": {"pretrained": "org/tiny", "dtype": "bf16"}}}}
    hub = fingerprint_config(config, "--teacher")
    assert hub["init_args"]["net"]["init_args"] == {
        "pretrained": f"sha256:{folder_digest(str(local), 'x')}",
        "dtype": "bf16",
    }
    weights = weights_fingerprint(
        {"teacher_ckpt": None, "--ckpt": str(local / "model_index.json")}, {"teacher": config}, "--teacher"
    )
    assert weights["files"] == {"teacher_ckpt": None, "--ckpt": hashlib.sha256(b"{}").hexdigest()}
    assert weights["configs"]["teacher"] == hub
