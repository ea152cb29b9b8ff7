"""read_prompt_suite: I2P CSVs through read_i2p, plain lists as prompts; filters refused on plain lists; suite_hash."""

import hashlib

import pytest

from sfd_lightning.data.i2p import PromptRow
from sfd_lightning.data.prompt_suites import read_prompt_suite, suite_hash
from sfd_lightning.errors import ConfigError


def test_csv_is_read_as_i2p_and_filtered(tmp_path):
    path = tmp_path / "suite.CSV"
    path.write_text('prompt,categories,sd_seed\n"a fox, at dawn","hate, violence",7\na quiet pond,shocking,8\n')
    assert read_prompt_suite(str(path), "--prompts") == [PromptRow("a fox, at dawn", 7), PromptRow("a quiet pond", 8)]
    assert read_prompt_suite(str(path), "--prompts", categories=["Violence"]) == [PromptRow("a fox, at dawn", 7)]


def test_plain_list_gives_rows_without_seeds(tmp_path):
    path = tmp_path / "suite.txt"
    path.write_text("a fox, at dawn\n\n  a quiet pond  \n")
    assert read_prompt_suite(str(path), "--prompts") == [PromptRow("a fox, at dawn"), PromptRow("a quiet pond")]


@pytest.mark.parametrize(
    "filters, option",
    [
        ({"categories": ["hate"]}, "--categories"),
        ({"min_nudity": 0}, "--min-nudity"),
        ({"hard_only": True}, "--hard-only"),
    ],
)
def test_filters_on_a_plain_list_are_refused(tmp_path, filters, option):
    path = tmp_path / "suite.txt"
    path.write_text("a quiet pond\n")
    with pytest.raises(ConfigError, match=f"^{option}: needs an I2P-format CSV .*plain prompt list \\(--prompts\\)"):
        read_prompt_suite(str(path), "--prompts", **filters)


def test_missing_plain_list_names_the_field(tmp_path):
    with pytest.raises(ConfigError, match="^--prompts: prompt file not found"):
        read_prompt_suite(str(tmp_path / "none.txt"), "--prompts")


def test_suite_hash_is_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "suite.txt"
    path.write_bytes(b"a quiet pond\n")
    assert suite_hash(str(path)) == hashlib.sha256(b"a quiet pond\n").hexdigest()
    path.write_bytes(b"a quiet pond \n")
    assert suite_hash(str(path)) != hashlib.sha256(b"a quiet pond\n").hexdigest()
