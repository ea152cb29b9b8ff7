"""The field's detectors as attack judges: the identity judge on real photographs shipped in packages, and a
detector's refusal to answer any question but the forgotten concept's."""

import pytest
import torch
from photos import as_images, grace_hopper, photo_folder

from sfd_lightning.attack.judges import DetectorJudge, identity_detector, rates

skimage_data = pytest.importorskip("skimage.data")


def test_the_identity_detector_finds_the_person_of_the_photos_only(tmp_path):
    photo_folder(tmp_path, skimage_data.astronaut(), "astronaut.png")
    images = torch.cat(
        [as_images(photo, 256) for photo in (skimage_data.astronaut()[:, ::-1], grace_hopper(), skimage_data.coffee())]
    )
    assert identity_detector(str(tmp_path))(images).tolist() == [True, False, False]


def test_a_detector_answers_only_the_forgotten_concept_question():
    judge = DetectorJudge("judge", lambda images: images.flatten(1).mean(1) > 0, forget_class=7)
    images = torch.tensor([1.0, -1.0, 1.0, 1.0]).view(4, 1, 1, 1)
    assert rates({"judge": judge}, images, torch.tensor(7)) == {"judge": 0.75}
    assert rates({"judge": judge}, images, torch.tensor(3)) == {"judge": None}  # a retained class: not its question
    assert rates({"judge": judge}, images, torch.tensor([1, 2, 3, 4])) == {"judge": None}
