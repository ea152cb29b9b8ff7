"""The field's detectors as attack judges: the identity judge on real photographs shipped in packages, and a
detector's refusal to answer any question but the forgotten concept's."""
import os

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from sfd_lightning.attack.judges import DetectorJudge, identity_detector, rates

skimage_data = pytest.importorskip("skimage.data")


def as_tensor(photo) -> torch.Tensor:
    x = torch.from_numpy(np.array(photo)).permute(2, 0, 1)[None].float() / 127.5 - 1
    return F.interpolate(x, size=(256, 256), mode="bilinear", antialias=True, align_corners=False)


def test_the_identity_detector_finds_the_person_of_the_photos_only(tmp_path):
    Image.fromarray(skimage_data.astronaut()).save(tmp_path / "astronaut.png")
    hopper = Image.open(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")).convert("RGB")
    images = torch.cat([as_tensor(skimage_data.astronaut()[:, ::-1]), as_tensor(hopper), as_tensor(skimage_data.coffee())])
    assert identity_detector(str(tmp_path))(images).tolist() == [True, False, False]


def test_a_detector_answers_only_the_forgotten_concept_question():
    judge = DetectorJudge("judge", lambda images: images.flatten(1).mean(1) > 0, forget_class=7)
    images = torch.tensor([1.0, -1.0, 1.0, 1.0]).view(4, 1, 1, 1)
    assert rates({"judge": judge}, images, torch.tensor(7)) == {"judge": 0.75}
    assert rates({"judge": judge}, images, torch.tensor(3)) == {"judge": None}  # a retained class: not its question
    assert rates({"judge": judge}, images, torch.tensor([1, 2, 3, 4])) == {"judge": None}
