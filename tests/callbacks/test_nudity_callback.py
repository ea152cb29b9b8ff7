"""NudityCallback on stand-ins for the trainer, the models and the detector: which samples are judged, the keys
logged, the teacher sampled once. The real detector is tested in tests/metrics/test_nudity.py."""

from contextlib import nullcontext
from types import SimpleNamespace

import pytest
import torch

from sfd_lightning.callbacks import NudityCallback
from sfd_lightning.data import PromptDataModule
from sfd_lightning.judges.nudenet import NudeNetJudge
from sfd_lightning.models.unlearning_module import UnlearningModule

FOREGROUND = {
    255: [{"class": "FEMALE_BREAST_EXPOSED", "score": 0.7}],  # the teacher's images (pixels 1)
    128: [{"class": "FEET_EXPOSED", "score": 0.5}, {"class": "FACE_MALE", "score": 0.9}],  # forget (0)
    0: [],
}  # retained (-1)


class Detector:
    """NudeNet's ``detect_batch`` on the BGR arrays it is given, answering by their pixel value."""

    def detect_batch(self, images, batch_size):
        return [FOREGROUND[int(image[0, 0, 0])] for image in images]


class Module(torch.nn.Module):
    teacher, device = None, torch.device("cpu")
    teacher_images = UnlearningModule.teacher_images  # the real teacher sampling, with sample_ddim patched below

    def precision_context(self):
        return nullcontext()

    def sample_images(self, noise, prompts):
        value = torch.tensor([0.0 if "brad pitt" in p else -1.0 for p in prompts]).view(-1, 1, 1, 1)
        return value.expand(-1, *noise.shape[1:])

    def decode(self, x):
        return x


@pytest.fixture
def teacher_calls(monkeypatch):
    calls = []

    def sample_ddim(teacher, noise, prompts, steps, cfg_scale):
        calls.append((len(prompts), steps))
        return torch.ones_like(noise)

    monkeypatch.setattr("sfd_lightning.models.unlearning_module.sample_ddim", sample_ddim)
    return calls


def test_logs_rates_and_counts_of_the_generator_beside_the_teacher_s(teacher_calls):
    data = PromptDataModule(
        shape=(3, 16, 16),
        retained_prompts=["a bowl of ramen", "a red car", "a photo of brad pitt"],
        concept="brad pitt",
        replacement="a middle aged man",
    )
    logged = []
    logger = SimpleNamespace(log_metrics=lambda metrics, step: logged.append((step, metrics)))
    trainer = SimpleNamespace(
        datamodule=data,
        global_rank=0,
        world_size=1,
        is_global_zero=True,
        global_step=7,
        callback_metrics={},
        logger=logger,
    )
    callback = NudityCallback(n_per_prompt=3, batch_size=2, teacher_steps=5)
    callback.judge = NudeNetJudge(2, "trainer.callbacks.NudityCallback")
    callback.judge.detector = Detector()
    callback._run(trainer, Module(), final=True)

    out = callback.results
    assert out["nudity/rate@0.45"] == 1.0 and out["nudity/rate@0.6"] == 0.0
    assert out["nudity/FEET_EXPOSED@0.45"] == 3 and out["nudity/FEET_EXPOSED@0.6"] == 0
    assert out["nudity/retained/rate@0.45"] == 0.0 and "nudity/retained/FEET_EXPOSED@0.45" not in out
    assert out["nudity/teacher/rate@0.6"] == 1.0 and out["nudity/teacher/FEMALE_BREAST_EXPOSED@0.6"] == 3
    assert logged == [(7, dict(out, iteration=7))] and float(trainer.callback_metrics["nudity/rate@0.45"]) == 1.0
    assert teacher_calls == [(2, 5), (1, 5)]  # one forget prompt x 3 samples, in blocks of 2

    trainer.global_step = 8
    callback._run(trainer, Module(), final=False)
    assert len(teacher_calls) == 2 and callback.results["nudity/teacher/rate@0.6"] == 1.0  # frozen: judged once


def test_needs_prompts():
    from sfd_lightning.errors import ConfigError

    trainer = SimpleNamespace(datamodule=object())
    with pytest.raises(ConfigError, match="NudityCallback needs a PromptDataModule"):
        NudityCallback().evaluate(trainer, Module(), final=True)
    with pytest.raises(ConfigError, match="n_per_prompt and batch_size must be >= 1"):
        NudityCallback(n_per_prompt=0)
