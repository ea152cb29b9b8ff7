"""``sfd eval --metrics nudity,identity`` on real photographs that ship in installed packages: scikit-image's astronaut
(Eileen Collins) as samples and as the reference person, matplotlib's Grace Hopper as another person."""

import json

import numpy as np
import pytest
from bad_images import BAD_KINDS, write_bad_image
from photos import as_images, grace_hopper, photo_folder
from PIL import Image

from sfd_lightning.errors import ConfigError
from sfd_lightning.evaluate.main import main
from sfd_lightning.metrics.nudity import EXPOSED_CLASSES, THRESHOLDS

skimage_data = pytest.importorskip("skimage.data")


def write_samples(path, photo: np.ndarray, size: int = 256) -> str:
    """A uint8 (H, W, 3) photo as an ``sfd sample`` .npz: float images (1, 3, size, size) in [-1, 1], a prompt."""
    np.savez(path, images=as_images(photo, size).clamp(-1, 1).numpy(), prompts=np.array(["a portrait"]))
    return str(path)


@pytest.fixture(scope="module")
def astronaut_folder(tmp_path_factory):
    return str(photo_folder(tmp_path_factory.mktemp("person"), skimage_data.astronaut(), "astronaut.png"))


def eval_json(tmp_path, samples, *args):
    out = tmp_path / "judged.json"
    main([samples, *args, "--out", str(out), "--overwrite", "--device", "cpu"])
    return json.loads(out.read_text())


def test_nudity_of_the_astronaut_is_zero_with_the_judge_s_versions(tmp_path):
    result = eval_json(tmp_path, write_samples(tmp_path / "s.npz", skimage_data.astronaut()), "--metrics", "nudity")
    assert result["nudity/rate@0.45"] == 0.0 and result["nudity/rate@0.6"] == 0.0
    assert all(result[f"nudity/{c}@{t}"] == 0.0 for c in EXPOSED_CLASSES for t in THRESHOLDS)
    assert set(result["nudity/judge"]) == {"nudenet", "onnxruntime"} and result["nudity/judge"]["nudenet"] == "3.4.2"
    assert "fid" not in result and "features" not in result


def test_identity_matches_the_reference_person_and_not_another(tmp_path, astronaut_folder):
    same = eval_json(
        tmp_path,
        write_samples(tmp_path / "a.npz", skimage_data.astronaut()),
        "--metrics",
        "identity",
        "--reference-folder",
        astronaut_folder,
    )
    assert same["identity/matched"] == 1.0 and same["identity/faces_found"] == 1.0
    assert set(same["identity/judge"]) == {"dlib", "face_recognition_models"}
    other = eval_json(
        tmp_path,
        write_samples(tmp_path / "g.npz", grace_hopper()),
        "--metrics",
        "identity",
        "--reference-folder",
        astronaut_folder,
        "--face-detector",
        "hog",
        "--face-upsample",
        "1",
    )
    assert other["identity/matched"] == 0.0 and other["identity/faces_found"] == 1.0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--metrics", "identity"], "--reference-folder: needed for identity"),
        (["--metrics", "nudity,identity", "--reference-folder", "{empty}"], "--reference-folder: no images"),
        (
            ["--metrics", "identity", "--reference-folder", "{faceless}"],
            "--reference-folder: no face found in any of the 1",
        ),
        (
            ["--metrics", "identity", "--reference-folder", "{faceless}", "--identity-threshold", "0"],
            "--identity-threshold: must be a number > 0",
        ),
        (
            ["--metrics", "identity", "--reference-folder", "{faceless}", "--face-upsample", "-1"],
            "--face-upsample: must be an integer >= 0",
        ),
    ],
)
def test_bad_judge_options_are_refused_before_anything_is_judged(tmp_path, monkeypatch, args, message):
    import sfd_lightning.evaluate.judges as judges

    monkeypatch.setattr(judges, "judged", lambda *a: pytest.fail("samples were judged"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "faceless").mkdir()
    Image.fromarray(skimage_data.coffee()).save(tmp_path / "faceless" / "cup.png")
    samples = write_samples(tmp_path / "s.npz", skimage_data.astronaut(), size=32)
    args = [a.format(empty=tmp_path / "empty", faceless=tmp_path / "faceless") for a in args]
    with pytest.raises(ConfigError) as err:
        main([samples, *args, "--out", str(tmp_path / "m.json"), "--device", "cpu"])
    assert str(err.value).startswith(message) and len(str(err.value).splitlines()) == 1, str(err.value)
    assert not (tmp_path / "m.json").exists()


def test_the_judges_are_opt_in():
    from sfd_lightning.evaluate.main import build_parser

    assert build_parser().parse_args(["s.npz"]).metrics == "fid,is,kid,prc,forget"


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_an_unreadable_reference_photo_is_one_line(tmp_path, astronaut_folder, kind):
    """A real photo beside a text file named ``b.jpg``, an empty PNG, a broken link or a decompression bomb: one line
    naming --reference-folder and the file, before any sample is judged."""
    import shutil

    folder = tmp_path / "photos"
    shutil.copytree(astronaut_folder, folder)
    bad = write_bad_image(folder, kind)
    samples = write_samples(tmp_path / "s.npz", skimage_data.astronaut(), size=32)
    with pytest.raises(ConfigError, match=f"^--reference-folder: .*{bad.name}") as err:
        main([samples, "--metrics", "identity", "--reference-folder", str(folder), "--out", str(tmp_path / "m.json")])
    assert len(str(err.value).splitlines()) == 1


def test_reference_photos_of_several_sizes_are_read(tmp_path):
    """Photos of a person come in any size: each is embedded alone, so a folder of several sizes is fine."""
    face = Image.fromarray(skimage_data.astronaut()).crop((100, 0, 300, 200))  # her face, 200 pixels across
    folder = photo_folder(tmp_path / "photos", np.asarray(face.resize((160, 160))), "big.png")
    face.resize((120, 120)).save(folder / "small.png")
    result = eval_json(
        tmp_path,
        write_samples(tmp_path / "a.npz", np.asarray(face), size=160),
        "--metrics",
        "identity",
        "--reference-folder",
        str(folder),
        "--face-upsample",
        "0",
    )
    assert result["identity/matched"] == 1.0
