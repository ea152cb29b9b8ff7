"""Face identity as a judge: an image shows the concept when its largest face is the person of a folder of reference
photos (dlib, distance < 0.6 to the nearest; ``metrics.identity`` has the matching and the counts)."""

import argparse
from typing import Dict, Optional

import torch

from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.protocol import ConceptJudge
from sfd_lightning.metrics import faces
from sfd_lightning.metrics.faces import DETECTORS
from sfd_lightning.metrics.identity import SAME_PERSON, ReferencePerson, match


def check_identity_options(args: argparse.Namespace) -> None:
    """``--identity-threshold``, ``--face-detector`` and ``--face-upsample`` (``sfd eval``'s and ``sfd benchmark``'s),
    each error naming the option the user typed."""
    if not 0 < args.identity_threshold < float("inf"):
        raise ConfigError("--identity-threshold", f"must be a number > 0, got {args.identity_threshold}")
    if args.face_detector not in DETECTORS:
        raise ConfigError("--face-detector", f"must be one of {', '.join(DETECTORS)}, got {args.face_detector!r}")
    if args.face_upsample < 0:
        raise ConfigError("--face-upsample", f"must be an integer >= 0, got {args.face_upsample}")


class IdentityJudge(ReferencePerson, ConceptJudge):
    """The person of a folder of reference photos, judged in images. Everything is checked, and the references
    embedded, at construction."""

    name = "identity"
    spelling = "identity"  # identity:FOLDER

    def __init__(
        self,
        reference_folder: str,
        field: str = "reference_folder",
        threshold: float = SAME_PERSON,
        detector: str = "hog",
        upsample: int = 1,
        forget_class: Optional[int] = None,
        label: Optional[str] = None,
    ):
        """
        Args:
            reference_folder: a folder of photos (png/jpg) of the person, one face each (the largest counts).
            field: the option that named the folder, for errors
                (``trainer.callbacks.IdentityCallback.reference_folder``).
            threshold: a face within this descriptor distance of the nearest reference shows the person.
            detector: "hog" or "cnn" (:class:`FaceEmbedder`).
            upsample: image doublings before detection (:class:`FaceEmbedder`).
            forget_class: the concept's class in an attack (the only class it answers for).
            label: what refusals of its verdicts name (default ``field``).
        """
        super().__init__(reference_folder, field, threshold, detector, upsample)
        self.field, self.forget_class, self.label = field, forget_class, label or field

    @classmethod
    def from_spec(cls, text: str, field: str, label: str, forget_class: int, **_) -> "IdentityJudge":
        """``identity:FOLDER``."""
        return cls(text.partition(":")[2], field, forget_class=forget_class, label=label)

    @classmethod
    def add_arguments(cls, p: argparse.ArgumentParser) -> None:
        """``sfd eval``'s options of this judge."""
        p.add_argument(
            "--reference-folder",
            default=None,
            help="identity: a folder of photos (png/jpg) of the person, one face each",
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

    @classmethod
    def check_arguments(cls, args: argparse.Namespace) -> None:
        """``sfd eval --metrics identity``'s options, before any judge is built."""
        if not args.reference_folder:
            raise ConfigError("--reference-folder", "needed for identity: a folder of photos of the person")
        check_identity_options(args)

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> "IdentityJudge":
        """The judge of ``sfd eval --metrics identity``: the reference photos embedded, so a folder without faces is
        refused before any sample is judged."""
        return cls(
            args.reference_folder, "--reference-folder", args.identity_threshold, args.face_detector, args.face_upsample
        )

    def present(self, images: torch.Tensor) -> torch.Tensor:
        embeddings, found = self.embedder.embed(images, self.field)
        shown = torch.zeros(len(images), dtype=torch.bool)
        shown[found] = match(embeddings, self.reference, self.threshold)
        return shown

    @staticmethod
    def versions() -> Dict[str, str]:
        return faces.judge_versions()
