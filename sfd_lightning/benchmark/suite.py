"""What every suite of ``sfd benchmark`` is: its items, the inputs that head its table, a judge of one model's
folder of images, and the table the papers print."""

from typing import Any, Dict, Iterator, List, Optional, Sequence

import torch

from sfd_lightning.benchmark.image_folder import as_float, read_pngs
from sfd_lightning.benchmark.items import Item
from sfd_lightning.metrics.eval_progress import eval_progress


class Suite:
    """Subclasses build everything they judge with, and check their inputs, in ``__init__``: before any sampling."""

    name: str = ""
    items: List[Item]
    guidance_option: str = ""  # the option of the file that gives items their own guidance scale, if any

    def header(self) -> Dict[str, Any]:
        """The suite's inputs (files and their SHA-256, filters, seeds, counts) and its judges' versions."""
        raise NotImplementedError

    def judge(self, folder: str, device: torch.device) -> Dict[str, Any]:
        """One model's results from its folder of images."""
        raise NotImplementedError

    def table(self, results: Dict[str, Dict[str, Any]]) -> str:
        """Markdown: a row per model (``results``: model name -> :meth:`judge`'s results)."""
        raise NotImplementedError


def image_batches(
    folder: str, indices: Sequence[int], batch_size: int, desc: Optional[str] = None
) -> Iterator[torch.Tensor]:
    """The images ``indices`` of a folder, in [-1, 1], ``batch_size`` at a time; progress shown as ``desc`` if given."""
    starts = range(0, len(indices), batch_size)
    for start in eval_progress(starts, len(starts), desc):
        yield as_float(read_pngs(folder, indices[start : start + batch_size]))
