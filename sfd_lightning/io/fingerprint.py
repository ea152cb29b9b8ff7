"""Content fingerprints of the weights a model draws with: SHA-256 of checkpoint files and of pretrained folders (a
diffusers folder, or a hub id's files in the local hub cache), so images drawn before a base model was replaced in
place, or by another base, are never mixed with images drawn after.

File digests are kept in the user cache (``file_digests.json`` beside :func:`cache_dir.user_cache_dir`'s results),
keyed by the file's real path, size, modification and change times and inode, so a rerun reads gigabytes of weights
only when a file changed (a file copied over another with its old time kept still gets a new change time). SHA-256
reads about 0.75 GB/s on one core of the 2-core CI machine: Stable Diffusion 1.5's 4.3 GB of fp32 weights take
about 6 s the first time.
"""

import hashlib
import json
import os
from typing import Any, Dict, List, Optional

from sfd_lightning.errors import ConfigError, describe
from sfd_lightning.io.atomic import atomic_write
from sfd_lightning.io.cache_dir import user_cache_dir

CACHE_FILE = "file_digests.json"
BLOCK = 2**22


def _cache_path() -> str:
    return os.path.join(user_cache_dir(), CACHE_FILE)


def _read_cache() -> Dict[str, Any]:
    """The cached digests; a missing or unreadable cache is empty (it only costs hashing again)."""
    try:
        with open(_cache_path(), encoding="utf-8") as f:
            cache = json.load(f)
        return cache if isinstance(cache, dict) else {}
    except (OSError, ValueError):
        return {}


def _key(path: str) -> List[int]:
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def file_sha256(path: str) -> str:
    """SHA-256 (hex) of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def file_digests(paths: List[str], field: str) -> Dict[str, str]:
    """SHA-256 (hex) of each file (links followed), from the cache where the file is unchanged; an unreadable file is
    a ConfigError on ``field``."""
    cache, changed, out = _read_cache(), False, {}
    for path in paths:
        real = os.path.realpath(path)
        try:
            key = _key(real)
            entry = cache.get(real)
            if not (isinstance(entry, dict) and entry.get("key") == key and isinstance(entry.get("sha256"), str)):
                entry, changed = {"key": key, "sha256": file_sha256(real)}, True
                cache[real] = entry
        except OSError as err:
            raise ConfigError(field, f"cannot read {path!r} to fingerprint it: {describe(err)}") from None
        out[path] = entry["sha256"]
    if changed:
        try:
            atomic_write(_cache_path(), lambda f: f.write(json.dumps(cache).encode()), "cache")
        except ConfigError:
            pass  # a cache that cannot be written only costs hashing again
    return out


def folder_files(folder: str) -> List[str]:
    """Every file under ``folder``, sorted, hidden folders (``.cache``, ``.git``: a hub download's bookkeeping) left
    out."""
    found = []
    for root, dirs, names in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [os.path.join(root, n) for n in sorted(names) if not n.startswith(".")]
    return found


def folder_digest(folder: str, field: str) -> str:
    """SHA-256 over the relative paths and contents of every file under ``folder``: moved or copied elsewhere it is the
    same; any file changed, added or removed changes it."""
    files = folder_files(folder)
    digests = file_digests(files, field)
    listing = [[os.path.relpath(path, folder), digests[path]] for path in files]
    return hashlib.sha256(json.dumps(listing).encode()).hexdigest()


def local_folder(pretrained: str, field: str) -> str:
    """``pretrained`` itself if it is a folder, else the hub id's snapshot in the local hub cache (nothing is
    downloaded: a model loaded from the hub has its files there)."""
    if os.path.isdir(pretrained):
        return pretrained
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(pretrained, local_files_only=True)
    except Exception as err:  # huggingface_hub raises its own error types for an id that is not cached or not valid
        raise ConfigError(
            field, f"cannot find the local files of {pretrained!r} to fingerprint them: {describe(err)}"
        ) from None


def fingerprint_config(config: Any, field: str) -> Any:
    """``config`` with every ``pretrained`` hub id or folder replaced by ``sha256:<its folder's digest>``."""
    if isinstance(config, dict):
        return {
            k: (
                f"sha256:{folder_digest(local_folder(v, field), field)}"
                if k == "pretrained" and isinstance(v, str)
                else fingerprint_config(v, field)
            )
            for k, v in config.items()
        }
    if isinstance(config, list):
        return [fingerprint_config(v, field) for v in config]
    return config


def weights_fingerprint(files: Dict[str, Optional[str]], configs: Dict[str, Any], field: str) -> Dict[str, Any]:
    """What a model draws with, by content: each named weights file's SHA-256 (None stays None) and each config with
    its pretrained folders' digests."""
    given = [path for path in files.values() if path]
    digests = file_digests([p for p in given if os.path.isfile(p)], field)
    return {
        "files": {
            name: (None if not path else digests.get(path) or f"sha256:{folder_digest(path, field)}")
            for name, path in files.items()
        },
        "configs": {name: fingerprint_config(config, field) for name, config in configs.items()},
    }
