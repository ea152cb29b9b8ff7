"""One entry point for the prompt suites of forgetting benchmarks: an I2P-format CSV, or a plain prompt list."""

from typing import List, Optional, Sequence, Union

from sfd_lightning.data.i2p import PromptRow, read_i2p
from sfd_lightning.data.prompt_files import read_prompt_file
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.fingerprint import file_sha256


def read_prompt_suite(
    path: str,
    field: str,
    categories: Optional[Union[str, Sequence[str]]] = None,
    min_nudity: Optional[float] = None,
    hard_only: bool = False,
) -> List[PromptRow]:
    """The prompts of a suite: a ``.csv`` file is read as I2P's format (:func:`read_i2p`, with its filters); any
    other file is one prompt per line, without seeds, guidance or filters.

    Args:
        path: the suite's file.
        field: the option that named it, for errors.
        categories: I2P categories to keep (CSV only).
        min_nudity: the least ``nudity_percentage`` to keep (CSV only).
        hard_only: keep I2P's hard prompts only (CSV only).
    """
    if path.lower().endswith(".csv"):
        return read_i2p(path, field, categories=categories, min_nudity=min_nudity, hard_only=hard_only)
    given = [
        option
        for option, value in (
            ("--categories", categories is not None),
            ("--min-nudity", min_nudity is not None),
            ("--hard-only", hard_only),
        )
        if value
    ]
    if given:
        raise ConfigError(
            given[0],
            f"needs an I2P-format CSV (with categories, nudity_percentage and hard columns); "
            f"{path!r} is a plain prompt list ({field})",
        )
    return [PromptRow(prompt) for prompt in read_prompt_file(path, field)]


def suite_hash(path: str) -> str:
    """SHA-256 (hex) of a suite file's bytes, for the headers of result tables; read it first with
    :func:`read_prompt_suite`, which checks that it exists and names the option if not."""
    return file_sha256(path)
