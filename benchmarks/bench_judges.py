"""``make bench-judges``: seconds per 1,000 images of each judge ``sfd benchmark`` and the training callbacks run.

The images are a real photograph shipped with matplotlib (Grace Hopper's portrait, one face), resized to the
benchmark's size (512 x 512, Stable Diffusion 1.x's), so the face judge detects, aligns and embeds a face in
every image as it would in a person-erasure benchmark; NudeNet's cost does not depend on what it finds. Each
judge is timed over ``--images`` images after one warm-up batch; figures are scaled to 1,000 images.

    python -m benchmarks.bench_judges [--images 64] [--size 512]
"""

import argparse
import os
import time
from typing import Callable

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import sfd_lightning.metrics.faces as faces
from sfd_lightning.metrics.faces import FaceEmbedder
from sfd_lightning.metrics.nudity import NudeNetDetector, judge_versions


def grace_hopper() -> np.ndarray:
    """matplotlib's sample portrait of Grace Hopper, uint8 (H, W, 3)."""
    return np.array(
        Image.open(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")).convert("RGB")
    )


def as_images(photo: np.ndarray, size: int) -> torch.Tensor:
    """A uint8 (H, W, 3) photo as the project's images: (1, 3, size, size) in [-1, 1], resized with antialiasing."""
    x = torch.from_numpy(np.array(photo)).permute(2, 0, 1)[None].float() / 127.5 - 1
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def portraits(n: int, size: int) -> torch.Tensor:
    """``n`` copies of the portrait as (n, 3, size, size) in [-1, 1]."""
    return as_images(grace_hopper(), size).expand(n, -1, -1, -1).contiguous()


def per_thousand(judge: Callable[[torch.Tensor], object], images: torch.Tensor, batch: int) -> float:
    """Seconds per 1,000 images of ``judge`` over ``images`` in batches, after a warm-up batch."""
    judge(images[:batch])
    start = time.perf_counter()
    for i in range(0, len(images), batch):
        judge(images[i : i + batch])
    return (time.perf_counter() - start) * 1000 / len(images)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_judges",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--images", type=int, default=64, help="images timed per judge (default 64)")
    p.add_argument("--size", type=int, default=512, help="image side in pixels (default 512)")
    p.add_argument("--batch", type=int, default=16, help="images per judge call (default 16)")
    args = p.parse_args(argv)
    images = portraits(args.images, args.size)
    nudity = NudeNetDetector(args.batch)
    print(
        f"{args.images} images of {args.size}x{args.size}, torch threads {torch.get_num_threads()}, "
        f"NudeNet on {nudity.providers[0]}; {judge_versions()} {faces.judge_versions()}"
    )
    rows = [("NudeNet 320n (nudity)", lambda x: nudity.detect(x))]
    for upsample in (1, 0):
        embedder = FaceEmbedder("hog", upsample)
        rows.append((f"dlib HOG + ResNet (identity), upsample {upsample}", lambda x, e=embedder: e.embed(x)))
    for name, judge in rows:
        print(f"{name:<48} {per_thousand(judge, images, args.batch):8.1f} s per 1,000 images", flush=True)


if __name__ == "__main__":
    main()
