"""Progress of an evaluation's sampling (a teacher's FID samples can take minutes): a bar on a terminal,
a line a quarter of the way when the output is a file."""

import sys
import time
from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar("T")


def eval_progress(
    items: Iterable[T], total: int, desc: Optional[str], enabled: bool = True, stream=None, unit: str = "block"
) -> Iterator[T]:
    """``items`` unchanged; on ``stream`` (stderr) a tqdm bar when it is a terminal, else ``desc: k/total
    <unit>s (elapsed)`` lines at 25, 50, 75 and 100%. Nothing when ``desc`` is None or not ``enabled``."""
    if desc is None or not enabled or total < 1:
        yield from items
        return
    stream = stream or sys.stderr
    if hasattr(stream, "isatty") and stream.isatty():
        from tqdm import tqdm

        yield from tqdm(items, total=total, desc=desc, leave=False, file=stream, unit=unit)
        return
    start, shown = time.monotonic(), 0
    for k, item in enumerate(items, 1):
        yield item
        if 4 * k // total > shown:
            shown = 4 * k // total
            print(f"{desc}: {k}/{total} {unit}s ({time.monotonic() - start:.0f} s)", file=stream, flush=True)
