"""A run's forgotten concepts as the config gives them: a list of concept/replacement pairs, or a CSV/TSV file with
``concept`` and ``replacement`` columns (a list of 50 or 100 names is easier to keep in a spreadsheet)."""

from typing import Any, Tuple

from sfd_lightning.data.csv_table import read_table
from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting.forget_set import Concept, check_concepts, concepts_from_items


def read_concepts(value: Any, field: str = "data.concepts") -> Tuple[Concept, ...]:
    """Concepts and replacements from a list (of ``{concept, replacement}`` mappings or ``[concept, replacement]``
    pairs) or a CSV/TSV file with ``concept`` and ``replacement`` columns; checked (``check_concepts``)."""
    if isinstance(value, (list, tuple)):
        return concepts_from_items(value, field)
    if not isinstance(value, str):
        raise ConfigError(field, f"must be a list of concept/replacement pairs or a CSV/TSV file, got {value!r}")
    table = read_table(value, field, kind="concept list (CSV/TSV)")
    missing = [c for c in ("concept", "replacement") if c not in table.columns]
    if missing:
        raise ConfigError(
            field,
            f"{value!r} has no {' or '.join(repr(m) for m in missing)} column "
            f"(its columns: {table.describe_columns()})",
        )
    concepts = tuple(Concept(r.cells["concept"].strip(), r.cells["replacement"].strip()) for r in table.rows)
    check_concepts(concepts, field)
    return concepts
