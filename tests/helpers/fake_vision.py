"""Fake CIFAR-10 and STL-10 files in torchvision's on-disk formats, for tests without downloads.

torchvision checks the real files' MD5 sums; tests pair these files with ``trust_fake_files``.
"""

import os
import pickle

import numpy as np


def write_fake_cifar10(root: str, n_per_batch: int = 20, seed: int = 0) -> None:
    """``cifar-10-batches-py``: five training batches and a test batch of pickled uint8 rows."""
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            "data": rng.integers(0, 256, (n_per_batch, 3 * 32 * 32), dtype=np.uint8),
            "labels": [int(i % 10) for i in range(n_per_batch)],
        }
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump(batch, f)
    with open(os.path.join(folder, "batches.meta"), "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)


def write_fake_stl10(root: str, n: int = 20, seed: int = 0) -> None:
    """``stl10_binary``: uint8 96x96 images (column-major, as STL-10 ships them) and 1-based labels."""
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, "stl10_binary")
    os.makedirs(folder, exist_ok=True)
    for split in ("train", "test"):
        rng.integers(0, 256, (n, 3, 96, 96), dtype=np.uint8).tofile(os.path.join(folder, f"{split}_X.bin"))
        (np.arange(n) % 10 + 1).astype(np.uint8).tofile(os.path.join(folder, f"{split}_y.bin"))
    with open(os.path.join(folder, "class_names.txt"), "w") as f:
        f.write("\n".join(f"class{i}" for i in range(10)))


def trust_fake_files(monkeypatch) -> None:
    """Skip torchvision's MD5 checks (the fake files cannot match the real sums)."""
    from torchvision import datasets
    from torchvision.datasets import cifar

    monkeypatch.setattr(cifar, "check_integrity", lambda *args, **kwargs: True)  # batches.meta
    monkeypatch.setattr(datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(datasets.STL10, "_check_integrity", lambda self: True)
