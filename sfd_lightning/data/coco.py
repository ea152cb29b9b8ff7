"""MS-COCO captions and their real images, for the zero-shot FID / CLIP-score protocol of text-to-image papers.

Captions come from the annotations file (``captions_val2014.json``, ``captions_val2017.json``: one caption per image,
the first of each), from the 10k/30k caption CSV/TSV files people pass around, or from a text file with one caption
per line. Real images are centre-cropped and resized with bicubic filtering, as GigaGAN's and clean-fid's COCO
evaluations prepare them.
"""

import json
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from sfd_lightning.data.csv_table import Table, int_cell, read_table
from sfd_lightning.data.prompt_files import MAX_BYTES, check_lengths, read_prompt_file, read_text
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.images import IMAGE_SUFFIXES, image_sizes, is_image_name, read_rgb

JSON_MAX_BYTES = max(MAX_BYTES, 64 * 2**20)  # captions_train2014.json is about 21 MB; val2014's about 7 MB
CAPTION_COLUMNS = ("caption", "text", "prompt")
SHOWN_MISSING = 5  # missing ids named in a mismatch error


@dataclass(frozen=True)
class Caption:
    """One caption, with its COCO image id and the real image's file name when the source gives them."""

    text: str
    image_id: Optional[int] = None
    file_name: Optional[str] = None  # the real image's file name when the annotations give it


def read_coco_captions(path: str, field: str, n: Optional[int] = None) -> List[Caption]:
    """The captions of ``path`` (``.json`` annotations, ``.csv``/``.tsv`` table, or one per line), the first ``n``.

    Args:
        path: the captions file.
        field: the option that named it, for errors.
        n: how many captions to keep, from the start (all if None); ``--coco-n`` in errors.
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ConfigError("--coco-n", f"is a number of captions >= 1, got {n!r}")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".json":
        captions = _from_annotations(path, field)
    elif suffix in (".csv", ".tsv"):
        captions = _from_table(read_table(path, field, kind="caption file"))
    else:
        captions = [Caption(text) for text in read_prompt_file(path, field)]
    check_lengths([c.text for c in captions], field, f"{path!r}")
    if n is not None and n > len(captions):
        raise ConfigError("--coco-n", f"asks for {n:,} captions; {path!r} has {len(captions):,}")
    return captions[:n]


def _from_annotations(path: str, field: str) -> List[Caption]:
    """The first caption of each image of a COCO annotations file, images in the order of its ``images`` list."""
    try:
        data = json.loads(read_text(path, field, kind="COCO annotations file", shape="JSON", max_bytes=JSON_MAX_BYTES))
    except json.JSONDecodeError as err:
        raise ConfigError(
            field, f"{path!r} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"
        ) from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("images"), list)
        or not isinstance(data.get("annotations"), list)
    ):
        raise ConfigError(field, f"{path!r} is not a COCO captions file: it needs 'images' and 'annotations' lists")
    file_names = _image_files(data["images"], path, field)
    first: Dict[int, str] = {}
    for i, ann in enumerate(data["annotations"]):
        image_id, text = _entry(ann, ("image_id", "caption"), f"annotation {i + 1}", path, field)
        if isinstance(image_id, bool) or not isinstance(image_id, int) or image_id not in file_names:
            raise ConfigError(
                field, f"annotation {i + 1} of {path!r} is for image id {image_id!r}, which is not in 'images'"
            )
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(
                field, f"annotation {i + 1} of {path!r} (image id {image_id}) has an empty or non-text caption"
            )
        first.setdefault(image_id, text.strip())
    captions = [Caption(first[i], i, name) for i, name in file_names.items() if i in first]
    if not captions:
        raise ConfigError(field, f"{path!r} holds no captions")
    return captions


def _image_files(images: list, path: str, field: str) -> Dict[int, str]:
    """image id -> file name, in the order of the annotations' ``images`` list."""
    files: Dict[int, str] = {}
    for i, image in enumerate(images):
        image_id, name = _entry(image, ("id", "file_name"), f"image {i + 1}", path, field)
        if not isinstance(image_id, int) or isinstance(image_id, bool) or not isinstance(name, str):
            raise ConfigError(field, f"image {i + 1} of {path!r} needs an integer 'id' and a text 'file_name'")
        if image_id in files:
            raise ConfigError(field, f"image id {image_id} appears twice in the 'images' of {path!r}")
        files[image_id] = name
    return files


def _entry(entry, keys: Sequence[str], what: str, path: str, field: str) -> list:
    """The values of ``keys`` in one JSON object, or a ConfigError naming the first missing key."""
    if not isinstance(entry, dict):
        raise ConfigError(field, f"{what} of {path!r} is not a JSON object")
    missing = [key for key in keys if key not in entry]
    if missing:
        raise ConfigError(field, f"{what} of {path!r} has no {missing[0]!r}")
    return [entry[key] for key in keys]


def _from_table(table: Table) -> List[Caption]:
    """Captions from a table's caption/text/prompt column, with ``image_id`` and ``file_name`` where it has them."""
    column = table.first_of(CAPTION_COLUMNS)
    if column is None:
        raise ConfigError(
            table.field,
            f"{table.path!r} has no caption column ({', '.join(CAPTION_COLUMNS)}); "
            f"its columns: {table.describe_columns()}",
        )
    captions = []
    for row in table.rows:
        text = row.cells[column].strip()
        if not text:
            raise ConfigError(table.field, f"{row.where()} of {table.path!r} has an empty {column}")
        image_id = int_cell(table, row, "image_id") if "image_id" in table.columns else None
        file_name = row.cells.get("file_name", "").strip() or None
        captions.append(Caption(text, image_id, file_name))
    if not captions:
        raise ConfigError(table.field, f"{table.path!r} has a header and no captions")
    return captions


def match_real_images(captions: Sequence[Caption], folder: str, field: str) -> List[str]:
    """The real images for ``captions``: one path per caption where they carry a file name or COCO id (a file
    ``COCO_val2014_000000000042.jpg``, ``000000000042.jpg`` or ``42.png`` for id 42); every image of the folder,
    sorted by name, where they carry neither. Each is opened (its header), so an unreadable one stops the command
    before anything is drawn.

    Args:
        captions: from :func:`read_coco_captions`.
        folder: the folder of real images.
        field: the option that named the folder, for errors.
    """
    paths = _matched(captions, folder, field)
    image_sizes(paths, field)
    return paths


def _matched(captions: Sequence[Caption], folder: str, field: str) -> List[str]:
    images = _folder_images(folder, field)
    keyed = [c.file_name is not None or c.image_id is not None for c in captions]
    if not any(keyed):
        return [os.path.join(folder, name) for name in images]
    if not all(keyed):
        raise ConfigError(
            field,
            f"{keyed.count(True)} captions carry COCO ids and {keyed.count(False)} do not; "
            "give ids for all captions or for none",
        )
    by_id = _index_by_id(images)
    paths, missing = [], []
    for caption in captions:
        path = _find(caption, folder, by_id, field)
        if path is None:
            missing.append(caption.file_name if caption.file_name is not None else str(caption.image_id))
        paths.append(path)
    if missing:
        raise ConfigError(
            field,
            f"{len(missing):,} of {len(captions):,} captions have no image in {folder!r} (mismatched "
            f"COCO ids): {', '.join(missing[:SHOWN_MISSING])}{', ...' if len(missing) > SHOWN_MISSING else ''}",
        )
    return paths


def _folder_images(folder: str, field: str) -> List[str]:
    """The image file names of a folder, sorted, or a ConfigError if it is missing or holds none."""
    if not os.path.isdir(folder):
        raise ConfigError(field, f"images folder not found: {folder!r}")
    names = sorted(
        name for name in os.listdir(folder) if is_image_name(name) and not os.path.isdir(os.path.join(folder, name))
    )  # a broken link is named, not skipped
    if not names:
        raise ConfigError(field, f"{folder!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return names


def _index_by_id(names: Sequence[str]) -> Dict[int, List[str]]:
    """COCO id -> the file names that carry it: a stem ending in the id padded to 12 digits, or the id itself."""
    index: Dict[int, List[str]] = {}
    for name in names:
        stem = os.path.splitext(name)[0]
        padded = re.search(r"(?:^|\D)(\d{12})$", stem)
        if padded or re.fullmatch(r"[1-9]\d*|0", stem):
            index.setdefault(int(padded.group(1) if padded else stem), []).append(name)
    return index


def _find(caption: Caption, folder: str, by_id: Dict[int, List[str]], field: str) -> Optional[str]:
    """The image of one caption: its file name if given, else the one file carrying its id; None if absent."""
    if caption.file_name is not None:
        path = os.path.join(folder, caption.file_name)
        return path if os.path.isfile(path) else None
    names = by_id.get(caption.image_id, [])
    if len(names) > 1:
        raise ConfigError(
            field, f"COCO id {caption.image_id} has {len(names)} images in {folder!r}: {', '.join(names)}"
        )
    return os.path.join(folder, names[0]) if names else None


def read_real_image(path: str, size: int, field: str = "--coco-images") -> torch.Tensor:
    """A real image as (3, size, size) uint8: RGB, centre-cropped to a square, resized with bicubic filtering."""
    from PIL import Image

    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError("size", f"is an image side in pixels >= 1, got {size!r}")
    image = read_rgb(path, field)
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).contiguous()  # (3, size, size)
