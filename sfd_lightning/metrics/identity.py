"""The identity judge for person erasure: does a sample show the person of a folder of reference photos?

A sample matches when the dlib descriptor of its largest face lies within ``threshold`` (dlib's 0.6) of the
nearest reference descriptor. Nearest, not the mean of the references: 0.6 was calibrated on pairs of photos,
and a photo lies closer to the mean of several than to any one of them, so the mean would loosen the threshold;
a reference photo of a pose or lighting the samples share still counts.
"""

from typing import Dict, List

import numpy as np
import torch
from torchmetrics import Metric

from sfd_lightning.data.finite import check_count, finite_rows
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.source import Source
from sfd_lightning.metrics.faces import FaceEmbedder
from sfd_lightning.metrics.image_sets import ImageSet, open_image_set

SAME_PERSON = 0.6  # dlib's threshold for its face descriptor


def prompts_naming(name: str, prompts: List[str], field: str, what: str) -> List[str]:
    """The prompts that name the person ``name`` (case-insensitive): a retained person's images are drawn from them.
    None naming them is a ConfigError on ``field``; ``what`` says which prompts they were."""
    chosen = [p for p in prompts if name.lower() in p.lower()]
    if not chosen:
        raise ConfigError(field, f"none of the {len(prompts)} {what} names {name!r}")
    return chosen


def reference_photos(source: Source) -> ImageSet:
    """The photos (png/jpg...) under the folder ``source``, of any size (each is embedded alone); every file is opened
    here, so an unreadable one is a one-line ConfigError naming the option before dlib's models are loaded."""
    return open_image_set(source.path, source.field, one_size=False)


def reference_embeddings(photos: ImageSet, source: Source, embedder: FaceEmbedder) -> torch.Tensor:
    """The descriptors (R, 128) of the largest face in each of ``photos`` (:func:`reference_photos` of ``source``); no
    face in any is a one-line ConfigError naming the option."""
    descriptors = [embedder.embed_uint8(photos.read(np.array([i])))[0] for i in range(len(photos))]
    found = torch.cat(descriptors)
    if not len(found):
        raise source.error(
            f"no face found in any of the {len(photos)} images under {source.path!r}; "
            "give photos of the person's face, frontal and at least ~80 pixels across"
        )
    return found


def nearest_distance(embeddings: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Distance (M,) of each descriptor (M, 128) to its nearest reference descriptor (R, 128)."""
    if not len(embeddings):
        return torch.zeros(0, dtype=torch.float64)
    return torch.cdist(embeddings.double(), reference.double()).min(dim=1).values


def match(embeddings: torch.Tensor, reference: torch.Tensor, threshold: float = SAME_PERSON) -> torch.Tensor:
    """Whether each descriptor (M, 128) is the reference person's (M,) bool: nearest distance below ``threshold``."""
    return nearest_distance(embeddings, reference) < threshold


def identity_shares(matched: float, found: float, total: float) -> Dict[str, float]:
    """``matched``: share of all samples showing the person; ``faces_found``: share with a face at all."""
    return {"matched": matched / max(total, 1), "faces_found": found / max(total, 1)}


class ReferencePerson:
    """The person of a folder of reference photos, to find in images: dlib's models loaded once, the references'
    descriptors, the threshold (the identity judge built on it: ``judges.identity``).
    Everything is checked, and the references embedded, at construction."""

    def __init__(
        self,
        reference_folder: str,
        field: str = "reference_folder",
        threshold: float = SAME_PERSON,
        detector: str = "hog",
        upsample: int = 1,
    ):
        """
        Args:
            reference_folder: a folder of photos (png/jpg) of the person, one face each (the largest counts).
            field: the option that named the folder, for errors
                (``trainer.callbacks.IdentityCallback.reference_folder``).
            threshold: a face within this descriptor distance of the nearest reference shows the person.
            detector: "hog" or "cnn" (:class:`FaceEmbedder`).
            upsample: image doublings before detection (:class:`FaceEmbedder`).
        """
        prefix = field.rsplit(".", 1)[0] if "." in field else ""
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < float("inf"):
            raise ConfigError(
                f"{prefix}.threshold" if prefix else "threshold", f"must be a number > 0, got {threshold!r}"
            )
        self.threshold = float(threshold)
        source = Source(reference_folder, field)
        photos = reference_photos(source)
        self.embedder = FaceEmbedder(detector, upsample, prefix)
        self.reference = reference_embeddings(photos, source, self.embedder)  # (R, 128)

    def counts(self, field: str = "images") -> "IdentityCounts":
        """A fresh metric of this judge's verdicts; ``field`` names the images in errors."""
        return IdentityCounts(self, field)


IdentityJudge = ReferencePerson  # the former name (sfd_lightning.compat)


class IdentityCounts(Metric):
    """Samples, faces found and faces matched, summed over DDP ranks; images with NaN or inf make ``compute`` refuse
    on every rank alike."""

    full_state_update = False

    def __init__(self, judge: ReferencePerson, field: str = "images"):
        super().__init__()
        self.judge, self.field = judge, field
        for name in ("total", "found", "matched", "nonfinite"):
            self.add_state(name, torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, images: torch.Tensor) -> None:
        """Count the verdicts on images in [-1, 1] (N, C, H, W)."""
        finite = finite_rows(images)  # (N,)
        self.nonfinite += float((~finite).sum())
        embeddings, found = self.judge.embedder.embed(images[finite], self.field)
        self.total += float(finite.sum())
        self.found += float(found.sum())
        self.matched += float(match(embeddings, self.judge.reference, self.judge.threshold).sum())

    def compute(self) -> Dict[str, float]:
        check_count(int(self.nonfinite), int(self.total + self.nonfinite), self.field, "generated images")
        return identity_shares(float(self.matched), float(self.found), float(self.total))
