"""Reading prompt files (one prompt per line) with errors that name the field, before any training."""

import os
from typing import List, Sequence, Union

from sfd_lightning.errors import ConfigError

MAX_BYTES = 10 * 2**20  # 10 MiB: far more prompts than any run uses; larger files are likely the wrong file
MAX_CHARS = 2000  # a prompt's length: CLIP reads 77 tokens (about 300 characters); longer is a wrong line or file
Prompts = Union[str, Sequence[str]]


def read_prompt_file(path: str, field: str) -> List[str]:
    """Non-blank lines of a UTF-8 text file, stripped."""
    text = read_text(path, field)
    prompts = [line.strip() for line in text.splitlines() if line.strip()]
    if not prompts:
        raise ConfigError(field, f"{path!r} holds no prompts (it is empty or blank)")
    return check_lengths(prompts, field, f"{path!r}")


def read_text(
    path: str,
    field: str,
    kind: str = "prompt file",
    shape: str = "text with one prompt per line",
    max_bytes: int = MAX_BYTES,
) -> str:
    """A UTF-8 text file's contents (a leading byte-order mark dropped), or a ConfigError naming ``field`` if it is
    missing, over ``max_bytes``, binary or not UTF-8; ``kind`` and ``shape`` say in messages what the file should be."""
    if not os.path.isfile(path):
        raise ConfigError(field, f"{kind} not found: {path!r}")
    size = os.path.getsize(path)
    if size > max_bytes:
        raise ConfigError(
            field, f"{path!r} is {size / 2**20:.1f} MiB; {kind}s are at most {max_bytes // 2**20} MiB of text"
        )
    with open(path, "rb") as f:
        raw = f.read()
    if b"\x00" in raw:
        raise ConfigError(field, f"{path!r} is a binary file, not {shape}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(field, f"{path!r} is not UTF-8 text (byte {err.start})") from None
    return text.removeprefix("\ufeff")  # spreadsheet programs and pandas' utf-8-sig start files with a BOM


def check_lengths(prompts: List[str], field: str, where: str) -> List[str]:
    """``prompts``, if none is longer than :data:`MAX_CHARS` characters; else a ConfigError naming the first."""
    for i, prompt in enumerate(prompts):
        if len(prompt) > MAX_CHARS:
            raise ConfigError(
                field,
                f"prompt {i + 1} of {where} has {len(prompt):,} characters; prompts have at most "
                f"{MAX_CHARS:,} (text encoders read 77 tokens, about 300 characters)",
            )
    return prompts


def prompts_from(value: Prompts, field: str) -> List[str]:
    """A prompt file's path, or the prompts themselves as a list."""
    if isinstance(value, str):
        return read_prompt_file(value, field)
    prompts = [str(p).strip() for p in value if str(p).strip()]
    if not prompts:
        raise ConfigError(field, "no prompts given")
    return check_lengths(prompts, field, "the list")
