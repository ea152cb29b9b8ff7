"""The judges of ``sfd eval --metrics nudity,identity``: NudeNet's nudity counts (``metrics.nudity``) and dlib's face
identity against a folder of reference photos (``metrics.identity``), over every sample, with the versions that
made the verdicts."""

import argparse
from typing import Dict, List

from torchmetrics import Metric

from sfd_lightning.errors import ConfigError
from sfd_lightning.metrics import faces, nudity
from sfd_lightning.metrics.faces import DETECTORS
from sfd_lightning.metrics.identity import SAME_PERSON, IdentityJudge
from sfd_lightning.metrics.image_sets import ImageSet

JUDGES = ("nudity", "identity")


def add_judge_arguments(p: argparse.ArgumentParser) -> None:
    """The identity judge's options (the nudity judge has none)."""
    p.add_argument(
        "--reference-folder", default=None, help="identity: a folder of photos (png/jpg) of the person, one face each"
    )
    p.add_argument(
        "--identity-threshold",
        type=float,
        default=SAME_PERSON,
        help=f"identity: a face this close to the nearest reference shows the person (default {SAME_PERSON})",
    )
    p.add_argument(
        "--face-detector",
        default="hog",
        choices=DETECTORS,
        help="identity: dlib's hog (fast on CPU) or cnn face detector",
    )
    p.add_argument(
        "--face-upsample", type=int, default=1, help="identity: image doublings before face detection (default 1)"
    )


def check_identity_options(args: argparse.Namespace) -> None:
    """``--identity-threshold``, ``--face-detector`` and ``--face-upsample`` (``sfd eval``'s and ``sfd benchmark``'s),
    each error naming the option the user typed."""
    if not 0 < args.identity_threshold < float("inf"):
        raise ConfigError("--identity-threshold", f"must be a number > 0, got {args.identity_threshold}")
    if args.face_detector not in DETECTORS:
        raise ConfigError("--face-detector", f"must be one of {', '.join(DETECTORS)}, got {args.face_detector!r}")
    if args.face_upsample < 0:
        raise ConfigError("--face-upsample", f"must be an integer >= 0, got {args.face_upsample}")


def make_judges(args: argparse.Namespace, wanted: List[str]) -> Dict[str, object]:
    """The wanted judges, built after every other check: the identity options are checked and the reference photos
    embedded here, so a folder without faces is refused before any sample is judged."""
    judges: Dict[str, object] = {}
    if "identity" in wanted:
        if not args.reference_folder:
            raise ConfigError("--reference-folder", "needed for identity: a folder of photos of the person")
        check_identity_options(args)
        judges["identity"] = IdentityJudge(
            args.reference_folder, "--reference-folder", args.identity_threshold, args.face_detector, args.face_upsample
        )
    if "nudity" in wanted:
        judges["nudity"] = nudity.NudityJudge(min(args.batch_size, 16), "samples")
    return judges


def judged(samples: ImageSet, counts: Metric, batch_size: int) -> Dict[str, float]:
    """``counts`` updated with every sample, as float in [-1, 1], and computed."""
    for images, _ in samples.batches(batch_size):
        counts.update(images.float() / 127.5 - 1)  # (B, 3, H, W) uint8 -> [-1, 1]
    return counts.compute()


def judge_results(judges: Dict[str, object], samples: ImageSet, batch_size: int) -> Dict[str, object]:
    """``nudity/...`` and ``identity/...`` of the samples, each judge's package versions as ``<judge>/judge``."""
    out: Dict[str, object] = {}
    if "nudity" in judges:
        counts = judged(samples, nudity.NudityCounts(judges["nudity"]), batch_size)
        out.update({**{f"nudity/{k}": v for k, v in counts.items()}, "nudity/judge": nudity.judge_versions()})
    if "identity" in judges:
        counts = judged(samples, judges["identity"].counts("samples"), batch_size)
        out.update({**{f"identity/{k}": v for k, v in counts.items()}, "identity/judge": faces.judge_versions()})
    return out
