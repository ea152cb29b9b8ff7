"""Image files the user gave (folders of samples, reference photos, real COCO images) opened with one eye: a file
that is not an image, an empty one, a broken link or a decompression bomb (over PIL's ``Image.MAX_IMAGE_PIXELS``,
its warning level included) is one line naming the option and the file, never a traceback."""

import os
import warnings
from collections import Counter
from typing import Dict, List, Sequence, Tuple

import numpy as np

from sfd_lightning.errors import ConfigError, describe

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
Size = Tuple[int, int]  # (width, height), as PIL gives it


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def _open(path: str, field: str, decode: bool):
    """The PIL image of ``path`` (decoded to RGB when ``decode``, else its header only), or a ConfigError on
    ``field``."""
    from PIL import Image

    if os.path.islink(path) and not os.path.exists(path):
        raise ConfigError(field, f"{path!r} is a broken symbolic link (to {os.readlink(path)!r}), not an image")
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise ConfigError(field, f"{path!r} is an empty file (0 bytes), not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # the warning level refused too
            with Image.open(path) as image:
                return image.convert("RGB") if decode else image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        # UnidentifiedImageError and truncated data are OSErrors; PIL's parsers raise SyntaxError on a bad header
        raise ConfigError(field, f"cannot read image {path!r}: {describe(err)}") from None


def image_size(path: str, field: str) -> Size:
    """(width, height) of an image file from its header (nothing decoded), checked as :func:`read_rgb` checks it."""
    return _open(path, field, decode=False)


def read_rgb(path: str, field: str):
    """An image file decoded as an RGB PIL image; anything unreadable is a ConfigError on ``field`` naming the file."""
    return _open(path, field, decode=True)


def read_uint8(paths: Sequence[str], field: str) -> np.ndarray:
    """Image files of one size as uint8 (N, H, W, 3); files of several sizes are a ConfigError naming them."""
    images = [read_rgb(path, field) for path in paths]
    require_one_size(paths, [image.size for image in images], field, "the batch read")
    return np.stack([np.asarray(image) for image in images])


def image_sizes(paths: Sequence[str], field: str) -> List[Size]:
    """Every file's size from its header: each file opened, so a bad one stops the command before any work."""
    return [image_size(path, field) for path in paths]


def require_one_size(paths: Sequence[str], sizes: Sequence[Size], field: str, where: str) -> None:
    """A ConfigError on ``field`` naming the sizes found (with an example file each) unless all of ``sizes`` agree:
    images of several sizes cannot be batched, and resizing them one way would be a choice the metrics do not make."""
    counts = Counter(sizes)
    if len(counts) <= 1:
        return
    example: Dict[Size, str] = {}
    for path, size in zip(paths, sizes):
        example.setdefault(size, os.path.basename(path))
    found = ", ".join(f"{w}x{h} ({n:,} files, e.g. {example[(w, h)]!r})" for (w, h), n in counts.most_common())
    raise ConfigError(
        field,
        f"{where} holds images of {len(counts)} sizes: {found}; the metrics compare images of one "
        "size: resize them to one size, or give one folder per size",
    )
