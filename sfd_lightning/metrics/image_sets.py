"""Image sets for ``sfd eval``: sample .npz files, image folders, torchvision datasets, FID stats files.

Every set is read as (images uint8 (N, 3, H, W), labels (N,) or None) in batches, so features of
large sets never need all images in memory at once.
"""

import os
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence, Tuple

import numpy as np
import torch

from sfd_lightning.data.finite import require_finite
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.images import IMAGE_SUFFIXES, image_sizes, is_image_name, read_uint8, require_one_size
from sfd_lightning.io.npz import npz_keys, read_npz
from sfd_lightning.io.source import Source
from sfd_lightning.metrics.features import to_uint8_rgb

Batch = Tuple[torch.Tensor, Optional[torch.Tensor]]  # uint8 (B, 3, H, W), labels (B,) or None


@dataclass
class ImageSet:
    """A set of labelled (or unlabelled) images read in batches, optionally restricted to some classes."""

    description: str
    labels: Optional[np.ndarray]  # (N,) or None
    read: Callable[[np.ndarray], torch.Tensor]  # indices -> uint8 (B, 3, H, W)
    n: int

    def batches(self, batch_size: int, classes: Optional[Sequence[int]] = None) -> Iterator[Batch]:
        index = (
            np.arange(len(self))
            if classes is None or self.labels is None
            else np.flatnonzero(np.isin(self.labels, classes))
        )
        for start in range(0, len(index), batch_size):
            part = index[start : start + batch_size]
            labels = None if self.labels is None else torch.from_numpy(self.labels[part]).long()
            yield self.read(part), labels

    def __len__(self) -> int:
        return self.n


def _checked_images(images: np.ndarray, source: Source) -> None:
    """Shape (N, C, H, W) with C 1 or 3; uint8, or float in [-1, 1] without NaN/inf (which no metric may score)."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise source.error(f"{source.path!r}: `images` must be (N, C, H, W) with C 1 or 3, got {images.shape}")
    if images.dtype == np.uint8:
        return
    if not np.issubdtype(images.dtype, np.floating):
        raise source.error(f"{source.path!r}: `images` must be uint8 or float in [-1, 1], got {images.dtype}")
    require_finite(torch.from_numpy(images), source.field, f"images in {source.path!r}")
    if images.size and (images.min() < -1.001 or images.max() > 1.001):
        raise source.error(
            f"{source.path!r}: float `images` must lie in [-1, 1] (got {images.min():.3g}..{images.max():.3g})"
        )


def _checked_labels(labels: Optional[np.ndarray], n: int, source: Source) -> Optional[np.ndarray]:
    """None, or (n,) integers: one label per image."""
    if labels is None:
        return None
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise source.error(f"{source.path!r}: `labels` must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if len(labels) != n:
        raise source.error(f"{source.path!r} has {n} images but {len(labels)} labels; it needs one label per image")
    return labels.astype(np.int64)


def _from_npz(source: Source) -> ImageSet:
    path = source.path
    data = read_npz(source, ("images", "labels"))
    if "images" not in data:
        raise source.error(
            f"{path!r} has no `images` array (keys: {sorted(npz_keys(source))}); write it with `sfd sample`"
        )
    images = data["images"]
    _checked_images(images, source)
    labels = _checked_labels(data.get("labels"), len(images), source)
    if images.dtype == np.uint8:

        def read(idx):
            return torch.from_numpy(images[idx]).expand(-1, 3, -1, -1).contiguous()
    else:

        def read(idx):
            return to_uint8_rgb(torch.from_numpy(images[idx]))

    return ImageSet(f"{path} ({len(images)} images)", labels, read, len(images))


def _from_folder(source: Source, one_size: bool) -> ImageSet:
    """PNG/JPEG files; a folder of numeric class subfolders (``3/x.png``) gives labels. Every file is opened (its
    header) here, so an unreadable one stops the command before any work; with ``one_size`` so do several sizes."""
    path = source.path
    files, labels = [], []
    for root, _, names in sorted(os.walk(path)):
        for name in sorted(names):
            if is_image_name(name):
                files.append(os.path.join(root, name))
                parent = os.path.relpath(root, path)
                labels.append(int(parent) if parent.isdigit() else -1)
    if not files:
        raise source.error(f"no images ({', '.join(IMAGE_SUFFIXES)}) under {path!r}")
    sizes = image_sizes(files, source.field)
    if one_size:
        require_one_size(files, sizes, source.field, repr(path))
    label_array = np.array(labels, dtype=np.int64) if all(c >= 0 for c in labels) else None

    def read(idx):
        return torch.from_numpy(read_uint8([files[i] for i in idx], source.field)).permute(0, 3, 1, 2).contiguous()

    return ImageSet(f"{path} ({len(files)} images)", label_array, read, len(files))


def _from_torchvision(spec: str, field: str) -> ImageSet:
    """``cifar10:ROOT[:split]`` or ``stl10:ROOT[:split][:size]`` (split train, test or all)."""
    from sfd_lightning.data.vision import VisionDataset

    name, _, rest = spec.partition(":")
    parts = rest.split(":")
    root, split = parts[0], parts[1] if len(parts) > 1 and parts[1] else "train"
    size = int(parts[2]) if len(parts) > 2 else (64 if name == "stl10" else None)
    try:
        dataset = VisionDataset(name.upper(), root, split, download=False, image_size=size)
    except ConfigError as err:
        raise ConfigError(field, str(err)) from None

    def read(idx):
        return to_uint8_rgb(torch.stack([dataset[int(i)][0] for i in idx]))

    return ImageSet(f"{name} {split} under {root}", dataset.labels.numpy(), read, len(dataset))


def _from_digits(spec: str, field: str) -> ImageSet:
    """``digits[:split]``: the embedded scikit-learn digits (split all, train or val; default all)."""
    from sfd_lightning.data.digits import DigitsDataset

    split = spec.partition(":")[2] or "all"
    try:
        dataset = DigitsDataset(split=split)
    except ConfigError as err:
        raise ConfigError(field, f"{spec!r}: {err}") from None

    def read(idx):
        return to_uint8_rgb(dataset.images[torch.as_tensor(idx, dtype=torch.long)])

    return ImageSet(f"digits {split} ({len(dataset)} images)", dataset.labels.numpy(), read, len(dataset))


def is_stats_file(path: str, field: str = "--reference") -> bool:
    if not path.endswith(".npz") or not os.path.isfile(path):
        return False
    return {"mu", "sigma"} <= set(npz_keys(Source(path, field)))


def load_stats(path: str, field: str = "--reference") -> dict:
    """FID statistics (``mu`` (D,), ``sigma`` (D, D)), as torch-fidelity and the reference save them."""
    data = read_npz(Source(path, field), ("mu", "sigma"))
    return {name: data[name].astype(np.float64) for name in ("mu", "sigma")}


def open_image_set(spec: str, field: str, one_size: bool = True) -> ImageSet:
    """The image set ``spec`` names (``field``: the option that named it). A folder's files are all opened here; unless
    ``one_size`` is False (a set read one image at a time, as reference photos are), they must share one size."""
    kind = spec.split(":")[0]
    if kind in ("cifar10", "stl10"):
        return _from_torchvision(spec, field)
    if kind == "digits":
        return _from_digits(spec, field)
    if os.path.isdir(spec):
        return _from_folder(Source(spec, field), one_size)
    if os.path.isfile(spec) and spec.endswith(".npz"):
        return _from_npz(Source(spec, field))
    raise ConfigError(
        field, f"{spec!r} is not an .npz file, an image folder, cifar10:ROOT / stl10:ROOT or digits[:split]"
    )
