"""Sample-quality and forgetting metrics from features, with torch-fidelity's estimators.

FID (Heusel et al., 2017), Inception Score (Salimans et al., 2016), KID (Binkowski et al., 2018)
and improved precision/recall (Kynkäänniemi et al., 2019) are computed by torch-fidelity's
feature-level functions; features are extracted once per image set here.
"""

from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from sfd_lightning.errors import ConfigError
from sfd_lightning.metrics.features import FeatureExtractor
from sfd_lightning.metrics.forget import ForgetMetrics
from sfd_lightning.metrics.image_sets import ImageSet


@torch.no_grad()
def extract(
    image_set: ImageSet,
    extractor: FeatureExtractor,
    batch_size: int,
    device: torch.device,
    classes: Optional[Sequence[int]] = None,
) -> Dict[str, torch.Tensor]:
    """Features (and logits, labels where available) of every image of ``classes``, on the CPU."""
    extractor = extractor.to(device).eval()
    parts: Dict[str, list] = {}
    for images, labels in image_set.batches(batch_size, classes):
        images = images.to(device).float() / 127.5 - 1  # the sets' uint8 RGB, in the extractors' [-1, 1]
        out = {key: value.double() for key, value in extractor.extract(images).items()}
        if labels is not None:
            out["labels"] = labels
        for key, value in out.items():
            parts.setdefault(key, []).append(value.cpu())
    if not parts:
        raise ConfigError(
            "--classes",
            f"no images of classes {list(classes) if classes is not None else 'any'} in {image_set.description}",
        )
    return {key: torch.cat(values) for key, values in parts.items()}


def fid(generated: torch.Tensor, reference: Dict[str, np.ndarray]) -> float:
    return fid_statistics_to_metric(fid_features_to_statistics(generated), reference, verbose=False)[
        "frechet_inception_distance"
    ]


def stats_of(features: torch.Tensor) -> Dict[str, np.ndarray]:
    return fid_features_to_statistics(features)


def inception_score(logits: torch.Tensor, splits: int = 10) -> Dict[str, float]:
    out = isc_features_to_metric(logits, splits=splits)
    return {"is_mean": out["inception_score_mean"], "is_std": out["inception_score_std"]}


def kid(
    generated: torch.Tensor, real: torch.Tensor, subsets: int = 100, subset_size: int = 1000, seed: int = 2020
) -> Dict[str, float]:
    size = min(subset_size, len(generated), len(real))
    out = kid_features_to_metric(
        generated, real, kid_subsets=subsets, kid_subset_size=size, verbose=False, rng_seed=seed
    )
    return {
        "kid_mean": out["kernel_inception_distance_mean"],
        "kid_std": out["kernel_inception_distance_std"],
        "kid_subset_size": size,
    }


def precision_recall(generated: torch.Tensor, real: torch.Tensor, neighborhood: int = 3) -> Dict[str, float]:
    out = prc_features_to_metric(
        generated.float(),
        real.float(),
        prc_neighborhood=neighborhood,
        prc_batch_size=10000,
        save_cpu_ram=False,
        verbose=False,
    )
    return {"precision": out["precision"], "recall": out["recall"], "f_score": out["f_score"]}


def forgetting(
    logits: torch.Tensor,
    labels: torch.Tensor,
    forget_label: Union[int, Sequence[int]],
    override_label: Union[None, int, Sequence[Optional[int]]],
) -> Dict[str, float]:
    """:class:`ForgetMetrics` of ``logits`` (N, K) on samples of ``labels`` (N,): one forgotten class or several."""
    metric = ForgetMetrics(logits.shape[1], forget_label, override_label)
    metric.update(logits, labels)
    return metric.compute()
