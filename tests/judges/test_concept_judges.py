"""The field's detectors as concept judges: the identity judge on real photographs shipped in packages, NudeNet's
verdict at its threshold, and a concept judge's refusal to answer any question but the forgotten concept's."""

import pytest
import torch
from photos import as_images, grace_hopper, photo_folder

from sfd_lightning.data.finite import NonFiniteImagesError
from sfd_lightning.judges.identity import IdentityJudge
from sfd_lightning.judges.protocol import ConceptJudge, rates

skimage_data = pytest.importorskip("skimage.data")


class BrightJudge(ConceptJudge):
    """Finds the concept in images brighter than grey on average."""

    def __init__(self, forget_class: int):
        self.forget_class, self.label = forget_class, "attack judge judge"

    def present(self, images):
        return images.flatten(1).mean(1) > 0


def test_the_identity_judge_finds_the_person_of_the_photos_only(tmp_path):
    photo_folder(tmp_path, skimage_data.astronaut(), "astronaut.png")
    images = torch.cat(
        [as_images(photo, 256) for photo in (skimage_data.astronaut()[:, ::-1], grace_hopper(), skimage_data.coffee())]
    )
    assert IdentityJudge(str(tmp_path), "--judge").present(images).tolist() == [True, False, False]


def test_a_concept_judge_answers_only_the_forgotten_concept_question():
    judge = BrightJudge(forget_class=7)
    images = torch.tensor([1.0, -1.0, 1.0, 1.0]).view(4, 1, 1, 1)
    assert rates({"judge": judge}, images, torch.tensor(7)) == {"judge": 0.75}
    assert rates({"judge": judge}, images, torch.tensor(3)) == {"judge": None}  # a retained class: not its question
    assert rates({"judge": judge}, images, torch.tensor([1, 2, 3, 4])) == {"judge": None}


def test_a_concept_judge_refuses_non_finite_images_and_never_passes_gradients():
    judge = BrightJudge(forget_class=7)
    seen = []
    judge.present = lambda images: (
        seen.append((torch.is_grad_enabled(), images.requires_grad)) or images.mean((1, 2, 3)) > 0
    )
    images = torch.ones(2, 1, 2, 2, requires_grad=True)
    assert judge.share(images, torch.tensor(7)) == 1.0 and seen == [(False, False)]
    with pytest.raises(NonFiniteImagesError, match="attack judge judge: 1 of 2 images"):
        judge.share(torch.tensor([1.0, float("nan")]).view(2, 1, 1, 1), torch.tensor(7))


def test_nudenet_s_verdict_is_an_exposed_class_at_its_threshold(monkeypatch):
    from sfd_lightning.judges.nudenet import NudeNetJudge

    judge = NudeNetJudge(threshold=0.5, forget_class=0)
    crafted = [[{"class": "FEET_EXPOSED", "score": 0.5}], [{"class": "FACE_FEMALE", "score": 0.9}], []]
    monkeypatch.setattr(judge, "detect", lambda images: crafted[: len(images)])
    assert judge.present(torch.zeros(3, 3, 4, 4)).tolist() == [True, False, False]
    assert judge.share(torch.zeros(3, 3, 4, 4), torch.tensor(0)) == pytest.approx(1 / 3)
    assert judge.label == "nudity judge" and judge.name == "nudity" and not judge.differentiable
    assert set(judge.versions()) == {"nudenet", "onnxruntime"}
