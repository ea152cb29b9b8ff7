"""A metric over several noise seeds: its mean and the spread of the seeds' values."""

import statistics
from typing import Dict, Sequence


def with_spread(name: str, values: Sequence[float]) -> Dict[str, float]:
    """``name``: the mean of one value per noise seed; with several, ``name_spread``: half their range (the +-)."""
    out = {name: statistics.fmean(values)}
    if len(values) > 1:
        out[f"{name}_spread"] = (max(values) - min(values)) / 2
    return out
