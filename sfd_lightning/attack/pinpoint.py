"""Collateral damage near the forgotten class ("pinpoint-ness"): the k classes the forgotten one is most
easily confused with, and how well each target still draws them (judges' accuracy, and FID against real
images of the class when a reference set is given). A precise forgetting leaves them as the teacher had them.

The nearest classes are the ones the surrogate gives most probability to on the teacher's samples of the
forgotten condition, besides the forgotten class itself (data-free).
"""

from typing import Any, Dict, List, Sequence

import torch

from sfd_lightning.attack.context import AttackContext
from sfd_lightning.judges.protocol import rates
from sfd_lightning.metrics.features import to_uint8_rgb
from sfd_lightning.metrics.quality import extract, fid, stats_of
from sfd_lightning.pipelines.base import Pipeline


def nearest_classes(mean_probs: torch.Tensor, forget_class: int, allowed: Sequence[int], k: int) -> List[int]:
    """The ``k`` classes of ``allowed`` with the highest mean probability, the forgotten class excluded."""
    order = torch.argsort(mean_probs, descending=True).tolist()
    return [c for c in order if c != forget_class and c in allowed][:k]


@torch.no_grad()
def class_fid(images: torch.Tensor, cls: int, ctx: AttackContext) -> float:
    """FID of ``images`` against the reference images of ``cls``, in the feature extractor's space (the same
    uint8 rounding as the reference images)."""
    real = extract(ctx.reference, ctx.features, 500, ctx.device, classes=[cls])["features"]
    generated = ctx.features.to(ctx.device)(to_uint8_rgb(images).float() / 127.5 - 1).double().cpu()
    return float(fid(generated, stats_of(real)))


@torch.no_grad()
def pinpoint(targets: Sequence[Pipeline], ctx: AttackContext) -> Dict[str, Any]:
    s, spec = ctx.settings, ctx.spec
    by_name = {t.name: t for t in targets}
    scout = by_name.get("teacher", targets[0])
    z = ctx.noise(s.n, scout.shape, offset=3)
    probs = ctx.surrogate.probabilities(scout.generate(z, ctx.on_device(spec.forget_conditions(s.n)))).mean(0)
    classes = nearest_classes(probs.cpu(), spec.forget_class, spec.retained_classes(), s.pinpoint_k)
    rows = []
    for target in targets:
        for cls in classes:
            images = target.generate(z, ctx.on_device(spec.class_conditions(cls, s.n)))
            entry = {"target": target.name, "class": cls, "accuracy": rates(ctx.judges, images, torch.tensor(cls))}
            if ctx.reference is not None and ctx.features is not None:
                entry["fid"] = class_fid(images, cls, ctx)
            rows.append(entry)
    return {"classes": classes, "surrogate_probs": [round(p, 4) for p in probs.tolist()], "rows": rows}
