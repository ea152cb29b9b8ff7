"""The COCO suite: image quality and prompt alignment on the user's COCO captions (the 10k/30k caption files, or the
annotations JSON) against the matching real images: FID (Inception by default) and CLIP score, on the 0-1 scale and
x100 as tables print it."""

import os
from importlib.metadata import version
from typing import Any, Dict, Optional

import torch

from sfd_lightning.benchmark.items import repeated
from sfd_lightning.benchmark.suite import Suite, image_batches
from sfd_lightning.data.coco import match_real_images, read_coco_captions, read_real_image
from sfd_lightning.data.prompt_suites import suite_hash
from sfd_lightning.io.markdown_table import markdown_table
from sfd_lightning.metrics import make_extractor, quality
from sfd_lightning.metrics.clip_score import CLIPScore
from sfd_lightning.metrics.image_sets import ImageSet


class CocoSuite(Suite):
    name = "coco"

    def __init__(
        self,
        captions: str,
        images: str,
        n: Optional[int],
        seed: int,
        features: str = "inception",
        inception_weights: Optional[str] = None,
        clip_model: str = "openai/clip-vit-large-patch14",
        batch_size: int = 50,
    ):
        """
        Args:
            captions: the captions file (``--coco-captions``): annotations JSON, a CSV with a caption column, or one
                a line.
            images: the folder of the real images they describe (``--coco-images``), matched by image id.
            n: the first ``n`` captions (default all); seed: image i's noise seed is ``seed + i``.
            features: FID's feature space (``inception``, or ``classifier:PATH`` as in ``sfd eval``).
            inception_weights: local Inception weights (else downloaded once).
            clip_model: the CLIP model of the CLIP score (hub id or local folder).
            batch_size: images per feature-extractor and CLIP call.
        """
        self.captions = read_coco_captions(captions, "--coco-captions", n)
        self.real = match_real_images(self.captions, images, "--coco-images")
        self.items = repeated([c.text for c in self.captions], 1, seed, group="coco")
        self.extractor = make_extractor(features, inception_weights, "--features")
        self.clip = CLIPScore(clip_model)
        self.batch_size = batch_size
        self.real_stats: Optional[Dict[str, Any]] = None  # of the real images at the samples' size, computed once
        self.inputs = {
            "captions": os.path.basename(captions),
            "sha256": suite_hash(captions),
            "images": len(self.items),
            "real_images": os.path.basename(os.path.normpath(images)),
            "real_count": len(self.real),
            "seeds": f"{seed} + image index",
            "features": features,
            "clip_model": os.path.basename(os.path.normpath(clip_model)) if os.path.isdir(clip_model) else clip_model,
        }

    def header(self) -> Dict[str, Any]:
        return {**self.inputs, "judge": {name: version(name) for name in ("torch-fidelity", "transformers")}}

    def _real_stats(self, size: int, device: torch.device) -> Dict[str, Any]:
        """FID statistics of the real images, center-cropped and resized to ``size``, computed once per size."""
        if self.real_stats is None or self.real_stats["size"] != size:
            real = ImageSet(
                f"{len(self.real)} real COCO images",
                None,
                lambda idx: torch.stack([read_real_image(self.real[i], size) for i in idx]),
                len(self.real),
            )
            features = quality.extract(real, self.extractor, self.batch_size, device)["features"]
            self.real_stats = {"size": size, **quality.stats_of(features)}
        return self.real_stats

    @torch.no_grad()
    def judge(self, folder: str, device: torch.device) -> Dict[str, Any]:
        """FID against the real images and the mean CLIP score, in one pass over the folder's images."""
        extractor, clip, features = self.extractor.to(device).eval(), self.clip.to(device), []
        clip.reset()
        indices = list(range(len(self.items)))
        batches = image_batches(folder, indices, self.batch_size, f"FID features and CLIP scores of {folder}")
        for start, images in zip(range(0, len(indices), self.batch_size), batches):
            images = images.to(device)
            features.append(extractor(images).double().cpu())
            clip.update(images, [item.prompt for item in self.items[start : start + self.batch_size]])
        stats = self._real_stats(images.shape[-1], device)
        score = float(clip.compute())
        return {
            "fid": quality.fid(torch.cat(features), {"mu": stats["mu"], "sigma": stats["sigma"]}),
            "clip_score": score,
            "clip_score_01": score / 100,
            "images": len(indices),
        }

    def table(self, results: Dict[str, Dict[str, Any]]) -> str:
        head = ["model", "FID", "CLIP score (0-1)", "CLIP score (x100)"]
        rows = [
            [name, f"{r['fid']:.2f}", f"{r['clip_score_01']:.4f}", f"{r['clip_score']:.2f}"]
            for name, r in results.items()
        ]
        return (
            f"COCO: {len(self.items):,} captions, FID ({self.inputs['features']}) against {len(self.real):,} real "
            f"images, CLIP score ({self.inputs['clip_model']})\n\n" + markdown_table(head, rows)
        )
