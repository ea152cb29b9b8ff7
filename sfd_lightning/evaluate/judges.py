"""The judges of ``sfd eval --metrics nudity,identity``: the registry's concept judges (NudeNet's nudity counts, dlib's
face identity against a folder of reference photos), over every sample, with the versions that made the verdicts."""

import argparse
from typing import Dict, List

from torchmetrics import Metric

from sfd_lightning.judges.protocol import ConceptJudge
from sfd_lightning.judges.registry import JUDGES, concept_judges
from sfd_lightning.metrics.image_sets import ImageSet


def add_judge_arguments(p: argparse.ArgumentParser) -> None:
    """Each concept judge's options (the nudity judge has none)."""
    for name in concept_judges():
        JUDGES[name].add_arguments(p)


def make_judges(args: argparse.Namespace, wanted: List[str]) -> Dict[str, ConceptJudge]:
    """The wanted judges, built after every other check: every judge's options are checked first, then each is built
    (the identity judge embeds the reference photos here, so a folder without faces is refused before any sample is
    judged)."""
    chosen = [name for name in concept_judges() if name in wanted]
    for name in chosen:
        JUDGES[name].check_arguments(args)
    return {name: JUDGES[name].from_arguments(args) for name in chosen}


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
