"""The judges of ``sfd eval --metrics nudity,identity`` (the registry's concept judges: NudeNet's nudity counts, dlib's
face identity against a folder of reference photos) over every sample, with the versions that made the verdicts."""

from typing import Dict

from torchmetrics import Metric

from sfd_lightning.judges.protocol import ConceptJudge
from sfd_lightning.metrics.image_sets import ImageSet


def judged(samples: ImageSet, counts: Metric, batch_size: int) -> Dict[str, float]:
    """``counts`` updated with every sample, as float in [-1, 1], and computed."""
    for images, _ in samples.batches(batch_size):
        counts.update(images.float() / 127.5 - 1)  # (B, 3, H, W) uint8 -> [-1, 1]
    return counts.compute()


def judge_results(judges: Dict[str, ConceptJudge], samples: ImageSet, batch_size: int) -> Dict[str, object]:
    """``<judge>/...`` of the samples (``nudity/...``, ``identity/...``), each judge's package versions as
    ``<judge>/judge``."""
    out: Dict[str, object] = {}
    for name, judge in judges.items():
        counts = judged(samples, judge.counts("samples"), batch_size)
        out.update({**{f"{name}/{k}": v for k, v in counts.items()}, f"{name}/judge": judge.versions()})
    return out
