"""The nudity suite: NudeNet over the user's prompt file (the I2P CSV, or the ESD/UnlearnDiffAtk nudity CSVs, or a
plain list), each image's exposed detections and the per-class counts and nudity rates the I2P tables print."""

import json
import os
from typing import Any, Dict, List, Optional, Sequence

import torch

from sfd_lightning.benchmark.items import repeated
from sfd_lightning.benchmark.suite import Suite, image_batches
from sfd_lightning.data.prompt_suites import read_prompt_suite, suite_hash
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.atomic import atomic_write
from sfd_lightning.io.markdown_table import markdown_table
from sfd_lightning.judges.nudenet import NudeNetJudge
from sfd_lightning.metrics.nudity import (
    EXPOSED_CLASSES,
    THRESHOLDS,
    count_exposed,
    nudity_rate,
)

SHORT = {
    "FEMALE_BREAST_EXPOSED": "Breasts (F)",
    "MALE_BREAST_EXPOSED": "Breasts (M)",
    "FEMALE_GENITALIA_EXPOSED": "Genitalia (F)",
    "MALE_GENITALIA_EXPOSED": "Genitalia (M)",
    "BUTTOCKS_EXPOSED": "Buttocks",
    "ANUS_EXPOSED": "Anus",
    "FEET_EXPOSED": "Feet",
    "BELLY_EXPOSED": "Belly",
    "ARMPITS_EXPOSED": "Armpits",
}


class NuditySuite(Suite):
    name = "nudity"

    def __init__(
        self,
        prompts: str,
        n_per_prompt: int,
        seed: int,
        categories: Optional[Sequence[str]] = None,
        min_nudity: Optional[float] = None,
        hard_only: bool = False,
        file_seeds: bool = False,
        file_guidance: bool = False,
        batch_size: int = 16,
    ):
        """
        Args:
            prompts: the prompt file (``--nudity-prompts``): an I2P-format CSV or one prompt a line.
            n_per_prompt: images per prompt.
            seed: image i's noise seed is ``seed + i``, unless ``file_seeds``.
            categories, min_nudity, hard_only: I2P filters (``--categories sexual``, ``--min-nudity 50``).
            file_seeds: image k of a row uses the row's own seed + k (I2P's ``sd_seed``).
            file_guidance: multi-step models use the row's own guidance scale (I2P's ``sd_guidance_scale``).
            batch_size: images per detector call.
        """
        rows = read_prompt_suite(prompts, "--nudity-prompts", categories, min_nudity, hard_only)
        seeds = [r.seed for r in rows] if file_seeds else None
        guidance = [r.guidance for r in rows] if file_guidance else None
        for option, values, column in (("--file-seeds", seeds, "seed"), ("--file-guidance", guidance, "guidance")):
            if values is not None and any(v is None for v in values):
                raise ConfigError(
                    option, f"row {[v is None for v in values].index(True) + 1} of {prompts!r} has no {column}"
                )
        self.items = repeated(
            [r.prompt for r in rows],
            n_per_prompt,
            seed,
            seeds,
            guidance,
            "forget",
            "--nudity-prompts" if file_seeds else "--seed",
        )
        self.guidance_option = "--nudity-prompts"
        self.inputs = {
            "prompts": os.path.basename(prompts),
            "sha256": suite_hash(prompts),
            "rows": len(rows),
            "n_per_prompt": n_per_prompt,
            "categories": list(categories or []),
            "min_nudity": min_nudity,
            "hard_only": hard_only,
            "seeds": "the file's" if file_seeds else f"{seed} + image index",
            "guidance": "the file's" if file_guidance else "--cfg-scale",
        }
        self.detector = NudeNetJudge(batch_size, "--nudity-prompts")
        self.batch_size = batch_size

    def header(self) -> Dict[str, Any]:
        return {
            **self.inputs,
            "images": len(self.items),
            "judge": NudeNetJudge.versions(),
            "thresholds": list(THRESHOLDS),
            "providers": self.detector.providers,
        }

    def judge(self, folder: str, device: torch.device) -> Dict[str, Any]:
        """Nudity rate and per-class detections at each threshold; every image's detections to ``detections.json``."""
        detections: List[List[Dict]] = []
        indices = list(range(len(self.items)))
        for images in image_batches(folder, indices, self.batch_size, f"NudeNet on {folder}"):
            detections += self.detector.detect(images)
        listed = [
            {"image": f"{i:05d}.png", "prompt": item.prompt, "seed": item.seed, "detections": d}
            for i, (item, d) in enumerate(zip(self.items, detections))
        ]
        atomic_write(
            os.path.join(folder, "detections.json"),
            lambda f: f.write(json.dumps(listed, default=float).encode()),
            "--out",
        )
        out: Dict[str, Any] = {"images": len(detections)}
        for t in THRESHOLDS:
            counts = count_exposed(detections, t)
            out[f"rate@{t}"] = nudity_rate(detections, t)
            out[f"total@{t}"] = sum(counts.values())
            out.update({f"{c}@{t}": n for c, n in counts.items()})
        return out

    def table(self, results: Dict[str, Dict[str, Any]]) -> str:
        """Per threshold: the exposed detections of each class (the I2P tables' layout), their total and the rate."""
        parts = []
        for t in THRESHOLDS:
            head = ["model"] + [SHORT[c] for c in EXPOSED_CLASSES] + ["total", "nudity rate"]
            rows = [
                [name] + [r[f"{c}@{t}"] for c in EXPOSED_CLASSES] + [r[f"total@{t}"], f"{r[f'rate@{t}']:.2%}"]
                for name, r in results.items()
            ]
            parts.append(
                f"NudeNet threshold {t}: exposed detections over {len(self.items):,} images\n\n"
                + markdown_table(head, rows)
            )
        return "\n\n".join(parts)
