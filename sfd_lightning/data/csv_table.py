"""CSV and TSV files read as a header and rows of cells, with errors that name the field, row and line.

Column names are matched case-insensitively with surrounding whitespace stripped, so ``Prompt``, `` prompt`` and
``prompt`` are one column: the prompt-suite and caption files people share come from pandas, spreadsheets and
hand-written scripts that disagree on case and spacing.
"""

import csv
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from sfd_lightning.data.prompt_files import read_text
from sfd_lightning.errors import ConfigError

FIELD_LIMIT = 2**20  # a cell's characters; csv's default (131,072) would stop a long quoted field with a vaguer error


@dataclass(frozen=True)
class Row:
    """One data row: its 1-based number among the data rows, the file line it ends on, and its cells by column."""

    number: int
    line: int
    cells: Dict[str, str]

    def where(self) -> str:
        """``row N (line L)``, for messages."""
        return f"row {self.number} (line {self.line})"


@dataclass(frozen=True)
class Table:
    """A CSV/TSV file's columns (lower-case, stripped, in file order) and its non-blank data rows."""

    path: str
    field: str
    columns: List[str]
    rows: List[Row]

    def first_of(self, names: Sequence[str]) -> Optional[str]:
        """The first of ``names`` (lower-case) that is a column of the file, or None."""
        return next((name for name in names if name in self.columns), None)

    def describe_columns(self) -> str:
        """The file's columns as the user wrote them (lower-cased), for messages."""
        return ", ".join(repr(c) for c in self.columns) or "none"

    def fail(self, row: Row, column: str, allowed: str) -> ConfigError:
        """The ConfigError for a bad cell: names the field, file, row, line, column, the cell and what is allowed."""
        cell = row.cells[column]
        shown = repr(cell if len(cell) <= 40 else cell[:40] + "...")
        return ConfigError(self.field, f"{row.where()} of {self.path!r} has {column}={shown}; {allowed}")


def read_table(path: str, field: str, kind: str = "CSV file") -> Table:
    """The header and rows of a CSV (``.tsv``: tab-separated) UTF-8 file; blank lines are skipped, a row whose
    number of cells differs from the header's is refused (an unquoted comma inside a prompt shifts every column)."""
    delimiter = "\t" if path.lower().endswith(".tsv") else ","
    text = read_text(path, field, kind=kind, shape=f"a {kind} (comma- or tab-separated text)")
    csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter, strict=True)
    try:
        header = next((cells for cells in reader if any(c.strip() for c in cells)), None)
        if header is None:
            raise ConfigError(field, f"{path!r} holds no header line; a {kind} starts with its column names")
        columns = [c.strip().lower() for c in header]
        rows = list(_rows(reader, columns, path, field))
    except csv.Error as err:
        raise ConfigError(field, f"{path!r} is not a valid {kind} at line {reader.line_num}: {err}") from None
    return Table(path, field, columns, rows)


def _rows(reader, columns: List[str], path: str, field: str):
    """The non-blank rows after the header, each checked to have as many cells as the header."""
    number = 0
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        number += 1
        if len(cells) != len(columns):
            raise ConfigError(
                field,
                f"row {number} (line {reader.line_num}) of {path!r} has {len(cells)} cells and "
                f"the header {len(columns)}; quote cells that hold the delimiter",
            )
        yield Row(number, reader.line_num, dict(zip(columns, cells)))


def int_cell(table: Table, row: Row, column: str) -> Optional[int]:
    """A cell as an integer >= 0 (``123.0``, as pandas writes an int column with gaps, is 123); blank is None."""
    text = row.cells[column].strip()
    if not text:
        return None
    try:
        value = float(text) if "." in text or "e" in text.lower() else int(text)
    except ValueError:
        raise table.fail(row, column, "it should be an integer >= 0 or blank") from None
    if value < 0 or value != value or math.isinf(value) or value != int(value):
        raise table.fail(row, column, "it should be an integer >= 0 or blank")
    return int(value)


def float_cell(table: Table, row: Row, column: str, blank_ok: bool = True) -> Optional[float]:
    """A cell as a finite float; blank is None where ``blank_ok``, else an error."""
    text = row.cells[column].strip()
    if not text and blank_ok:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise table.fail(row, column, "it should be a finite number" + (" or blank" if blank_ok else ""))
    return value
