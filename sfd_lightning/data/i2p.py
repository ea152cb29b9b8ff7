"""Prompt suites in the I2P CSV format and the ESD / UnlearnDiffAtk CSVs derived from it.

I2P (Schramowski et al., *Safe Latent Diffusion*, CVPR 2023; huggingface ``AIML-TUDA/i2p``, ``i2p_benchmark.csv``)
has the columns ``prompt, categories, hard, inappropriate_percentage, nudity_percentage, lexica_url, sd_seed,
sd_guidance_scale, sd_image_width, sd_image_height, sd_model``; ``categories`` is one quoted, comma-separated cell
(``"sexual, hate"``). The nudity CSVs of ESD (Gandikota et al., ICCV 2023) and UnlearnDiffAtk (Zhang et al., 2023)
have ``case_number, prompt, evaluation_seed, evaluation_guidance, ...`` instead of I2P's seed and guidance columns.
"""

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Set, Tuple, Union

from sfd_lightning.data.csv_table import Row, Table, float_cell, int_cell, read_table
from sfd_lightning.data.prompt_files import check_lengths
from sfd_lightning.data.seeding import seed_problem
from sfd_lightning.errors import ConfigError

SEED_COLUMNS = ("sd_seed", "evaluation_seed")
GUIDANCE_COLUMNS = ("sd_guidance_scale", "evaluation_guidance")
Filter = Tuple[str, str, Callable[[Row], bool]]  # (option, its value as the user gave it, keeps a row)


@dataclass(frozen=True)
class PromptRow:
    """One prompt of a suite, with the row's own seed and guidance scale when the file gives them."""

    prompt: str
    seed: Optional[int] = None  # I2P's sd_seed, or evaluation_seed in the ESD/UnlearnDiffAtk CSVs
    guidance: Optional[float] = None  # I2P's sd_guidance_scale, or evaluation_guidance


def read_i2p(
    path: str,
    field: str,
    categories: Optional[Union[str, Sequence[str]]] = None,
    min_nudity: Optional[float] = None,
    hard_only: bool = False,
) -> List[PromptRow]:
    """The prompts of an I2P-format CSV, in file order, kept by the filters given.

    Args:
        path: the CSV file.
        field: the option that named it, for errors.
        categories: keep rows whose categories share one of these names (case-insensitive); a string is split on commas.
        min_nudity: keep rows whose ``nudity_percentage`` is at least this (0-100).
        hard_only: keep rows with ``hard`` = 1.
    """
    table = read_table(path, field, kind="prompt suite CSV")
    prompt_column = _prompt_column(table)
    if not table.rows:
        raise ConfigError(field, f"{path!r} has a header and no prompt rows")
    filters = _filters(table, categories, min_nudity, hard_only)
    seed, guidance = table.first_of(SEED_COLUMNS), table.first_of(GUIDANCE_COLUMNS)
    rows = []
    for row in table.rows:
        prompt = row.cells[prompt_column].strip()
        if not prompt:
            raise ConfigError(field, f"{row.where()} of {path!r} has an empty prompt; every row needs one")
        rows.append(
            PromptRow(
                prompt, _seed(table, row, seed) if seed else None, _guidance(table, row, guidance) if guidance else None
            )
        )
    check_lengths([r.prompt for r in rows], field, f"{path!r}")
    return _apply(table, rows, filters)


def _seed(table: Table, row: Row, column: str) -> Optional[int]:
    """A row's seed: blank, or an integer torch's generators take (0 <= seed < 2^64)."""
    value = int_cell(table, row, column)
    if value is not None and seed_problem(value):
        raise table.fail(row, column, "it should be an integer seed in [0, 2^64) or blank")
    return value


def _guidance(table: Table, row: Row, column: str) -> Optional[float]:
    """A row's guidance scale: blank, or a finite number > 0, as ``--cfg-scale`` must be."""
    value = float_cell(table, row, column)
    if value is not None and not value > 0:
        raise table.fail(row, column, "it should be a guidance scale > 0 (as --cfg-scale is) or blank")
    return value


def _prompt_column(table: Table) -> str:
    """The ``prompt`` column, or a ConfigError listing the columns the file has."""
    if "prompt" not in table.columns:
        raise ConfigError(
            table.field,
            f"{table.path!r} has no 'prompt' column (its columns: {table.describe_columns()}); "
            "a prompt suite CSV has one, as I2P's and ESD's do",
        )
    return "prompt"


def _filters(table: Table, categories, min_nudity: Optional[float], hard_only: bool) -> List[Filter]:
    """The filters asked for, each checked against the file's columns before any row is read."""
    filters = []
    if categories is not None:
        wanted = _category_names(table, categories)
        filters.append(("--categories", ", ".join(sorted(wanted)), lambda row: bool(_categories(row) & wanted)))
    if min_nudity is not None:
        threshold = _threshold(table, min_nudity)
        filters.append(
            (
                "--min-nudity",
                f"{threshold:g}",
                lambda row: float_cell(table, row, "nudity_percentage", blank_ok=False) >= threshold,
            )
        )
    if hard_only:
        _need(table, "--hard-only", "hard")
        filters.append(("--hard-only", "", lambda row: _hard(table, row)))
    return filters


def _need(table: Table, option: str, column: str) -> None:
    if column not in table.columns:
        raise ConfigError(
            option, f"needs a {column!r} column, as I2P's CSV has; {table.path!r} has {table.describe_columns()}"
        )


def _categories(row: Row) -> Set[str]:
    """A row's category names, lower-case and stripped."""
    return {name.strip().lower() for name in row.cells["categories"].split(",") if name.strip()}


def _category_names(table: Table, categories) -> Set[str]:
    """The asked-for category names, each one that occurs in the file."""
    _need(table, "--categories", "categories")
    names = categories.split(",") if isinstance(categories, str) else list(categories)
    wanted = {str(name).strip().lower() for name in names if str(name).strip()}
    present = set().union(*(_categories(row) for row in table.rows))
    if not wanted:
        raise ConfigError(
            "--categories", f"give at least one category name; {table.path!r} has {', '.join(sorted(present))}"
        )
    unknown = wanted - present
    if unknown:
        raise ConfigError(
            "--categories",
            f"{', '.join(sorted(unknown))} not among the categories of {table.path!r}: "
            f"{', '.join(sorted(present)) or 'none'}",
        )
    return wanted


def _threshold(table: Table, min_nudity) -> float:
    """``min_nudity`` as a float in [0, 100], once the file is known to have the column."""
    _need(table, "--min-nudity", "nudity_percentage")
    try:
        threshold = float(min_nudity)
    except (TypeError, ValueError):
        threshold = -1.0
    if not 0 <= threshold <= 100:
        raise ConfigError("--min-nudity", f"is a percentage in [0, 100], got {min_nudity!r}")
    return threshold


def _hard(table: Table, row: Row) -> bool:
    text = row.cells["hard"].strip().lower()
    if text not in ("0", "1", "0.0", "1.0", "true", "false"):
        raise table.fail(row, "hard", "it should be 0 or 1")
    return text in ("1", "1.0", "true")


def _apply(table: Table, rows: List[PromptRow], filters: List[Filter]) -> List[PromptRow]:
    """The rows every filter keeps, in order; an empty result is a ConfigError saying what each filter left."""
    kept = list(zip(table.rows, rows))
    counts = []
    for option, value, keeps in filters:
        before = len(kept)
        kept = [(row, prompt) for row, prompt in kept if keeps(row)]
        counts.append(f"{option} {value}".strip() + f" kept {len(kept)} of {before}")
    if not kept:
        raise ConfigError(
            table.field, f"no row of {table.path!r} passes the filters (an empty suite): {'; '.join(counts)}"
        )
    return [prompt for _, prompt in kept]
