"""COCO captions (annotations JSON, caption CSVs, plain lists), matching them to real images, and reading those."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from sfd_lightning.data.coco import Caption, match_real_images, read_coco_captions, read_real_image
from sfd_lightning.errors import ConfigError

ANNOTATIONS = {
    "images": [
        {"id": 42, "file_name": "COCO_val2014_000000000042.jpg"},
        {"id": 7, "file_name": "COCO_val2014_000000000007.jpg"},
        {"id": 99, "file_name": "COCO_val2014_000000000099.jpg"},
    ],
    "annotations": [
        {"image_id": 7, "id": 1, "caption": "A dog on a sofa."},
        {"image_id": 42, "id": 2, "caption": " Two bikes. "},
        {"image_id": 7, "id": 3, "caption": "A brown dog resting."},
    ],
}


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text if isinstance(text, str) else json.dumps(text))
    return str(path)


def image(path, pixels):
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path)


def test_annotations_give_the_first_caption_per_image_in_images_order(tmp_path):
    captions = read_coco_captions(write(tmp_path, "captions_val2014.json", ANNOTATIONS), "--coco-captions")
    assert captions == [
        Caption("Two bikes.", 42, "COCO_val2014_000000000042.jpg"),
        Caption("A dog on a sofa.", 7, "COCO_val2014_000000000007.jpg"),
    ]


def test_caption_tables_and_plain_lists(tmp_path):
    csv = write(tmp_path, "coco_30k.csv", 'Image_ID,id,Caption\n42,1,"Two bikes, parked."\n7,2,A dog.\n99,3,A tree.\n')
    assert read_coco_captions(csv, "--coco-captions", n=2) == [Caption("Two bikes, parked.", 42), Caption("A dog.", 7)]
    tsv = write(tmp_path, "coco.tsv", "text\nTwo bikes, parked.\nA dog.\n")
    assert read_coco_captions(tsv, "--coco-captions") == [Caption("Two bikes, parked."), Caption("A dog.")]
    txt = write(tmp_path, "coco.txt", "Two bikes.\n\nA dog.\n")
    assert read_coco_captions(txt, "--coco-captions") == [Caption("Two bikes."), Caption("A dog.")]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("a.json", "{not json", "is not valid JSON \\(line 1"),
        ("a.json", {"images": []}, "needs 'images' and 'annotations' lists"),
        ("a.json", {"images": [{"id": 1}], "annotations": []}, "image 1 of .* has no 'file_name'"),
        (
            "a.json",
            {"images": [{"id": 1, "file_name": "1.jpg"}], "annotations": [{"image_id": 5, "caption": "x"}]},
            "annotation 1 of .* is for image id 5, which is not in 'images'",
        ),
        (
            "a.json",
            {"images": [{"id": 1, "file_name": "1.jpg"}], "annotations": [{"image_id": 1}]},
            "annotation 1 of .* has no 'caption'",
        ),
        (
            "a.csv",
            "image_id,url\n1,http://x\n",
            "has no caption column \\(caption, text, prompt\\); its columns: 'image_id', 'url'",
        ),
        ("a.csv", "image_id,caption\nabc,A dog.\n", "row 1 \\(line 2\\) of .* has image_id='abc'"),
    ],
)
def test_bad_caption_files_name_the_field(tmp_path, name, content, message):
    with pytest.raises(ConfigError, match=f"^--coco-captions: .*{message}"):
        read_coco_captions(write(tmp_path, name, content), "--coco-captions")


def test_coco_n_is_checked(tmp_path):
    path = write(tmp_path, "coco.txt", "A dog.\nA cat.\nA cow.\n")
    with pytest.raises(ConfigError, match="^--coco-n: asks for 4 captions; .* has 3"):
        read_coco_captions(path, "--coco-captions", n=4)
    with pytest.raises(ConfigError, match="^--coco-n: is a number of captions >= 1, got 0"):
        read_coco_captions(path, "--coco-captions", n=0)


def test_ids_match_both_name_styles_and_file_names(tmp_path):
    pixels = np.zeros((4, 4, 3))
    for name in ["COCO_val2014_000000000042.jpg", "7.png", "000000000099.JPEG", "notes.txt.png", "1000.png"]:
        image(tmp_path / name, pixels)
    paths = match_real_images([Caption("a", 42), Caption("b", 7), Caption("c", 99)], str(tmp_path), "--coco-images")
    assert paths == [str(tmp_path / n) for n in ["COCO_val2014_000000000042.jpg", "7.png", "000000000099.JPEG"]]
    by_name = match_real_images([Caption("a", 1, "1000.png")], str(tmp_path), "--coco-images")
    assert by_name == [str(tmp_path / "1000.png")]
    every = match_real_images([Caption("a"), Caption("b")], str(tmp_path), "--coco-images")
    assert len(every) == 5 and every == sorted(every)


def test_mismatched_ids_and_empty_folders_name_the_field(tmp_path):
    image(tmp_path / "000000000042.png", np.zeros((4, 4, 3)))
    captions = [Caption("a", 42), Caption("b", 3), Caption("c", 100, "COCO_val2014_000000000100.jpg")]
    with pytest.raises(
        ConfigError, match="^--coco-images: 2 of 3 captions .*mismatched COCO ids\\): 3, COCO_val2014_000000000100.jpg$"
    ):
        match_real_images(captions, str(tmp_path), "--coco-images")
    with pytest.raises(ConfigError, match="^--coco-images: 1 captions carry COCO ids and 1 do not"):
        match_real_images([Caption("a", 42), Caption("b")], str(tmp_path), "--coco-images")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="^--coco-images: .* holds no images"):
        match_real_images([Caption("a")], str(tmp_path / "empty"), "--coco-images")
    with pytest.raises(ConfigError, match="^--coco-images: images folder not found"):
        match_real_images([Caption("a")], str(tmp_path / "absent"), "--coco-images")


def test_real_images_are_center_cropped_and_resized(tmp_path):
    pixels = np.zeros((8, 16, 3), dtype=np.uint8)  # (H, W, 3): red edges, a green middle square 8 wide
    pixels[:, :4] = pixels[:, 12:] = (255, 0, 0)
    pixels[:, 4:12] = (0, 200, 0)
    image(tmp_path / "wide.png", pixels)
    out = read_real_image(str(tmp_path / "wide.png"), 4)
    assert out.shape == (3, 4, 4) and out.dtype == torch.uint8
    assert (out[0] == 0).all() and (out[1] == 200).all()
    gray = np.full((6, 6), 90, dtype=np.uint8)
    Image.fromarray(gray).save(tmp_path / "gray.jpg")
    assert read_real_image(str(tmp_path / "gray.jpg"), 3).shape == (3, 3, 3)
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(ConfigError, match="^--coco-images: cannot read image .*broken.jpg"):
        read_real_image(str(tmp_path / "broken.jpg"), 4)


def test_an_unreadable_real_image_is_refused_when_matched(tmp_path):
    """Every matched image is opened (its header) with the captions, before anything is drawn."""
    from bad_images import write_bad_image

    image(tmp_path / "000000000042.png", np.zeros((4, 4, 3)))
    bad = write_bad_image(tmp_path, "bomb")
    with pytest.raises(ConfigError, match=f"^--coco-images: cannot read image .*{bad.name}.*DecompressionBomb"):
        match_real_images([Caption("a"), Caption("b")], str(tmp_path), "--coco-images")
    assert match_real_images([Caption("a", 42)], str(tmp_path), "--coco-images") == [str(tmp_path / "000000000042.png")]
