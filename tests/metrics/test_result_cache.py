"""The result cache: a shipped table read as it is, misses to the user cache, corrupt files and NaNs never fatal
and never read as results."""

import json
import math

from sfd_lightning.metrics.result_cache import ResultCache, user_cache_dir

PARTS = {"metric": "fid/teacher", "teacher": "abc", "seed": 1}


def test_misses_go_to_the_user_cache_never_to_the_table(tmp_path, user_cache):
    table = tmp_path / "table.json"
    cache = ResultCache(str(table))
    assert user_cache_dir() == str(user_cache) and cache.lookup(PARTS) is None
    cache.store(PARTS, 0.5)
    assert not table.exists() and cache.lookup(PARTS) == 0.5
    assert json.loads((user_cache / "teacher_fid.json").read_text())[ResultCache.key(PARTS)]["value"] == 0.5


def test_the_table_is_read_first(tmp_path):
    table = tmp_path / "table.json"
    table.write_text(json.dumps({ResultCache.key(PARTS): {"value": 0.25, "parts": PARTS}}))
    assert ResultCache(str(table)).lookup(PARTS) == 0.25


def test_corrupt_files_are_said_once_and_read_as_empty(tmp_path, capsys):
    table = tmp_path / "table.json"
    table.write_text("{corrupt")
    writable = tmp_path / "mine.json"
    writable.write_bytes(b"\xff\xfe not utf-8")
    cache = ResultCache(str(table), str(writable))
    cache.check()
    assert cache.lookup(PARTS) is None
    err = capsys.readouterr().err
    assert err.count(str(table)) == 1 and err.count(str(writable)) == 1 and "computed again" in err
    cache.store(PARTS, 0.5)  # the corrupt user cache is replaced by a valid one
    assert json.loads(writable.read_text())[ResultCache.key(PARTS)]["value"] == 0.5


def test_non_finite_results_are_neither_stored_nor_read(tmp_path):
    writable = tmp_path / "mine.json"
    cache = ResultCache(str(tmp_path / "table.json"), str(writable))
    cache.store(PARTS, math.nan)
    assert not writable.exists()
    writable.write_text(json.dumps({ResultCache.key(PARTS): {"value": math.nan, "parts": PARTS}}))  # an old file's NaN
    assert cache.lookup(PARTS) is None
