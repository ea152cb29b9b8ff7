"""Real photographs that ship in installed packages, for the judges' tests (nothing downloaded, nothing explicit):
matplotlib's Grace Hopper portrait, and the project's conversion of a photo to images in [-1, 1]. scikit-image's
photos (the astronaut Eileen Collins, a coffee cup) come from ``pytest.importorskip("skimage.data")`` in each test."""

from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.bench_judges import as_images, grace_hopper  # noqa: F401  (re-exported for the tests)


def photo_folder(folder: Path, photo: np.ndarray, name: str = "photo.png") -> Path:
    """``folder`` holding one photo: a person's reference photos."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(photo).save(folder / name)
    return folder
