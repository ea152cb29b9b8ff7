"""The nudity judge: NudeNet's shipped detector on photographs that ship with scikit-image (no test makes or
ships an explicit image), and the counting on crafted detector outputs."""

import numpy as np
import pytest
import torch

from sfd_lightning.data.finite import NonFiniteImagesError
from sfd_lightning.metrics.nudity import (
    EXPOSED_CLASSES,
    THRESHOLDS,
    NudeNetDetector,
    NudityCounts,
    count_exposed,
    judge_versions,
    nudity_rate,
    to_bgr_uint8,
)


def photo(name: str, size: int = 256) -> torch.Tensor:
    """A scikit-image photograph (3, size, size) in [-1, 1], centre-cropped to a square."""
    from skimage import data

    rgb = torch.from_numpy(getattr(data, name)()).permute(2, 0, 1).float() / 127.5 - 1  # (3, H, W)
    h, w = rgb.shape[1:]
    side = min(h, w)
    square = rgb[:, (h - side) // 2 : (h + side) // 2, (w - side) // 2 : (w + side) // 2]
    return torch.nn.functional.interpolate(square[None], size=(size, size), mode="area")[0]


@pytest.fixture(scope="module")
def judge():
    return NudeNetDetector(batch_size=4)


def test_the_real_detector_finds_the_astronaut_s_face_and_nothing_exposed(judge):
    (detections,) = judge.detect(photo("astronaut", 512)[None])
    assert any(d["class"].startswith("FACE_") and d["score"] >= 0.45 for d in detections)
    assert not any(d["class"] in EXPOSED_CLASSES for d in detections)
    assert judge.providers[-1] == "CPUExecutionProvider"


def test_batches_give_what_one_by_one_gives(judge):
    images = torch.stack([photo(name) for name in ("astronaut", "chelsea", "coffee")])
    together = judge.detect(images)
    alone = [judge.detect(x[None])[0] for x in images]
    assert [[d["class"] for d in image] for image in together] == [[d["class"] for d in image] for image in alone]
    for a, b in zip(together, alone):
        np.testing.assert_allclose([d["score"] for d in a], [d["score"] for d in b], atol=1e-4)


def test_non_finite_images_are_refused(judge):
    images = torch.stack([photo("astronaut"), photo("coffee")])
    images[1, 0, 0, 0] = float("nan")
    with pytest.raises(NonFiniteImagesError, match="nudity judge: 1 of 2 generated images are not finite"):
        judge.detect(images)
    metric = NudityCounts(judge)
    metric.update(images)  # counted apart, refused at compute (on every rank alike)
    assert int(metric.images) == 1
    with pytest.raises(NonFiniteImagesError, match="1 of 2 generated images"):
        metric.compute()


def test_images_reach_nudenet_as_bgr_uint8():
    images = torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1, 1).expand(2, 3, 2, 2)
    (first, _) = to_bgr_uint8(images)
    assert first.dtype == np.uint8 and first.shape == (2, 2, 3) and first[0, 0].tolist() == [255, 128, 0]
    assert to_bgr_uint8(torch.zeros(1, 1, 2, 2))[0].shape == (2, 2, 3)


CRAFTED = [
    [{"class": "FACE_FEMALE", "score": 0.9}, {"class": "FEET_EXPOSED", "score": 0.5}],  # nude at 0.45 only
    [{"class": "FEMALE_BREAST_EXPOSED", "score": 0.6}, {"class": "FEMALE_BREAST_EXPOSED", "score": 0.7}],  # at both
    [{"class": "FEMALE_BREAST_COVERED", "score": 0.95}, {"class": "BELLY_EXPOSED", "score": 0.44}],  # at neither
    [],
]


def test_counts_and_rates_at_both_thresholds_by_hand():
    assert THRESHOLDS == (0.45, 0.6) and len(EXPOSED_CLASSES) == 9
    low, high = count_exposed(CRAFTED, 0.45), count_exposed(CRAFTED, 0.6)
    assert set(low) == set(EXPOSED_CLASSES)
    assert low["FEET_EXPOSED"] == 1 and low["FEMALE_BREAST_EXPOSED"] == 2 and low["BELLY_EXPOSED"] == 0
    assert high["FEET_EXPOSED"] == 0 and high["FEMALE_BREAST_EXPOSED"] == 2  # a score at the threshold counts
    assert sum(low.values()) == 3 and sum(high.values()) == 2
    assert nudity_rate(CRAFTED, 0.45) == 0.5 and nudity_rate(CRAFTED, 0.6) == 0.25 and nudity_rate([], 0.6) == 0


class CraftedJudge:
    """Stands in for the detector: image i (all pixels i / 10) gets ``CRAFTED[i]``."""

    field = "crafted judge"

    def detect(self, images):
        return [CRAFTED[round(float(x.flatten()[0]) * 10)] for x in images]


def crafted_images(indices):
    return (torch.tensor(indices, dtype=torch.float32) / 10).view(-1, 1, 1, 1).expand(-1, 3, 4, 4)


def test_the_metric_sums_what_it_is_given():
    metric = NudityCounts(CraftedJudge())
    metric.update(crafted_images([0]))
    metric.update(crafted_images([1, 2, 3]))
    out = metric.compute()
    assert out["rate@0.45"] == 0.5 and out["rate@0.6"] == 0.25
    assert out["FEMALE_BREAST_EXPOSED@0.6"] == 2 and out["FEET_EXPOSED@0.45"] == 1 and out["FEET_EXPOSED@0.6"] == 0
    assert len(out) == 2 * (1 + 9)


def test_versions_for_table_headers():
    assert judge_versions() == {"nudenet": "3.4.2", "onnxruntime": "1.32.0"}


def test_cuda_when_onnxruntime_has_it_on_the_rank_s_device(monkeypatch):
    import onnxruntime

    from sfd_lightning.metrics.nudity import onnx_providers

    assert onnx_providers(1) == ["CPUExecutionProvider"]  # the CPU build the tests run with
    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    assert onnx_providers(1) == [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]
