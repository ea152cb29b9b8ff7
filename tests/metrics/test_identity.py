"""The identity judge on real photographs that ship in installed packages: scikit-image's astronaut (Eileen
Collins) as the reference person, matplotlib's Grace Hopper as another person, scikit-image's coffee cup as a
photo without a face. Nothing is downloaded."""

import numpy as np
import pytest
import torch
from photos import as_images, grace_hopper, photo_folder
from PIL import Image

from sfd_lightning.errors import ConfigError
from sfd_lightning.metrics.faces import FaceEmbedder, judge_versions
from sfd_lightning.metrics.identity import ReferencePerson, identity_shares, match, nearest_distance

skimage_data = pytest.importorskip("skimage.data")
FIELD = "trainer.callbacks.IdentityCallback.reference_folder"


def as_tensor(photo: np.ndarray, size: int = 256) -> torch.Tensor:
    return as_images(photo, size)


@pytest.fixture(scope="module")
def astronaut_folder(tmp_path_factory):
    return photo_folder(tmp_path_factory.mktemp("person"), skimage_data.astronaut(), "astronaut.png")


@pytest.fixture(scope="module")
def judge(astronaut_folder):
    return ReferencePerson(str(astronaut_folder), FIELD)


def photos() -> torch.Tensor:
    """The astronaut mirrored, a crop around her face (rescaled), Grace Hopper, a coffee cup: (4, 3, 256, 256)."""
    astronaut = skimage_data.astronaut()
    return torch.cat(
        [
            as_tensor(astronaut[:, ::-1]),
            as_tensor(astronaut[20:300, 100:330]),
            as_tensor(grace_hopper()),
            as_tensor(skimage_data.coffee()),
        ]
    )


def test_the_astronaut_matches_her_mirror_image_and_a_crop_not_another_person(judge):
    embeddings, found = judge.embedder.embed(photos())
    assert found.tolist() == [True, True, True, False]  # no face in the coffee cup
    distance = nearest_distance(embeddings, judge.reference)
    assert distance[0] < 0.4 and distance[1] < 0.4 and distance[2] > 0.65, distance  # 0.28, 0.30, 0.70 with dlib 20.0.1
    assert match(embeddings, judge.reference).tolist() == [True, True, False]


def test_counts_share_of_all_samples_matched_and_with_a_face(judge):
    counts = judge.counts()
    counts.update(photos()[:2])
    counts.update(photos()[2:])
    assert counts.compute() == {"matched": 0.5, "faces_found": 0.75}
    assert identity_shares(0, 0, 0) == {"matched": 0.0, "faces_found": 0.0}


def test_the_threshold_is_configurable(astronaut_folder, judge):
    embeddings, _ = judge.embedder.embed(photos()[:3])
    assert match(embeddings, judge.reference, threshold=0.8).tolist() == [True, True, True]
    strict = ReferencePerson(str(astronaut_folder), FIELD, threshold=0.29)
    assert match(embeddings, strict.reference, strict.threshold).tolist() == [True, False, False]
    with pytest.raises(ConfigError, match=r"^trainer\.callbacks\.IdentityCallback\.threshold: must be a number > 0"):
        ReferencePerson(str(astronaut_folder), FIELD, threshold=0)


def test_a_reference_folder_without_images_or_without_faces_is_refused_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match=rf"^{FIELD}: no images .* under") as err:
        ReferencePerson(str(tmp_path), FIELD)
    Image.fromarray(skimage_data.coffee()).save(tmp_path / "cup.jpg")
    Image.fromarray(skimage_data.chelsea()).save(tmp_path / "cat.png")
    with pytest.raises(ConfigError, match=rf"^{FIELD}: no face found in any of the 2 images under") as err:
        ReferencePerson(str(tmp_path), FIELD)
    assert "\n" not in str(err.value)


def test_non_finite_images_and_unknown_detectors_are_refused(judge):
    images = photos()[:2]
    images[1, 0, 0, 0] = float("nan")
    with pytest.raises(ConfigError, match="1 of 2 images are not finite"):
        judge.embedder.embed(images)
    counts = judge.counts("trainer.callbacks.IdentityCallback")
    counts.update(images)
    with pytest.raises(
        ConfigError, match=r"^trainer\.callbacks\.IdentityCallback: 1 of 2 generated images are not finite"
    ):
        counts.compute()
    with pytest.raises(ConfigError, match=r"^x\.detector: must be one of hog, cnn, got 'mtcnn'"):
        FaceEmbedder("mtcnn", field="x")


def test_versions_for_table_headers():
    versions = judge_versions()
    assert set(versions) == {"dlib", "face_recognition_models"} and all(versions.values())
