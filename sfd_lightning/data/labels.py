"""Class labels listed on a command line (``sfd sample --labels``, ``sfd eval --classes``)."""

from typing import List

from sfd_lightning.errors import ConfigError

MAX_LABELS = 100_000  # more classes than any conditional model here has (ImageNet-21k: 21,841)


def parse_labels(text: str, field: str = "--labels") -> List[int]:
    """``"0-9"``, ``"1,3,5"`` or ``"0-2,7"`` to a list of ints; errors name ``field``."""
    labels: List[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise ConfigError(field, f"expected a list like 0-9 or 1,3,5, got {text!r}") from None
        if first > last:
            raise ConfigError(
                field,
                f"the range {part.strip()!r} is empty: its start {first} is above its end {last} "
                f"(write {last}-{first})",
            )
        if first < 0 or last - first >= MAX_LABELS:  # checked before a list of that length is built
            raise ConfigError(
                field, f"the range {part.strip()!r} is outside 0..{MAX_LABELS - 1}: labels are class indices"
            )
        labels.extend(range(first, last + 1))
    if not labels:
        raise ConfigError(field, "no labels given")
    return labels
