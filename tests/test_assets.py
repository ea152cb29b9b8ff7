"""The shipped digits assets load with weights_only=True and meet their quality bar."""

import pytest
import torch
from project import ASSETS

from sfd_lightning.data import DigitsDataset
from sfd_lightning.diffusion import sample_ddim
from sfd_lightning.io.asset import load_exported
from sfd_lightning.io.source import Source


def load():
    teacher = load_exported(Source(str(ASSETS / "digits_teacher.pt"), "teacher"), "denoiser").eval()
    classifier = load_exported(Source(str(ASSETS / "digits_classifier.pt"), "classifier"), "classifier").eval()
    return teacher, classifier


def test_assets_are_plain_weights():
    for name in ("digits_teacher.pt", "digits_classifier.pt"):
        ckpt = torch.load(ASSETS / name, weights_only=True)
        assert ckpt["format"].startswith("sfd-lightning/") and "class_path" in ckpt["config"]


def test_classifier_accuracy_on_held_out_digits():
    _, classifier = load()
    val = DigitsDataset("val")
    with torch.no_grad():
        accuracy = (classifier(val.images).argmax(1) == val.labels).float().mean().item()
    assert accuracy >= 0.95


def test_classifier_recognises_teacher_samples():
    teacher, classifier = load()
    labels = torch.arange(10).repeat_interleave(40)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn((len(labels), 1, 8, 8), generator=g)
    with torch.no_grad():
        images = sample_ddim(teacher, noise, labels, steps=50).clamp(-1, 1)
        accuracy = (classifier(images).argmax(1) == labels).float().mean().item()
    assert accuracy >= 0.90, accuracy


def test_text_teacher_follows_its_captions():
    """The captioned-digits teacher's 50-step samples show the digit each caption names (>= 90%)."""
    from sfd_lightning.data.digit_captions import DIGIT_WORDS
    from sfd_lightning.data.prompt_files import read_prompt_file
    from sfd_lightning.data.prompts import class_of

    teacher = load_exported(Source(str(ASSETS / "digits_text_teacher.pt"), "teacher"), "denoiser").eval()
    _, classifier = load()
    prompts = [
        p
        for p in read_prompt_file(str(ASSETS.parent / "configs" / "prompts" / "digits_captions.txt"), "prompts")
        for _ in range(5)
    ]
    labels = torch.tensor([class_of(p, DIGIT_WORDS) for p in prompts])
    noise = torch.randn((len(prompts), 1, 8, 8), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        images = sample_ddim(teacher, noise, prompts, steps=50).clamp(-1, 1)
        accuracy = (classifier(images).argmax(1) == labels).float().mean().item()
    assert accuracy >= 0.90, accuracy


@pytest.mark.slow  # FIDs of 2 x 1,800 samples, ~40 s
def test_stage_one_generator_matches_the_teacher():
    """assets/digits_distilled.pt (what the demo starts from): its one-step EMA generator is recognised
    like the teacher and its FID (classifier features, 300 a class, same noise) is within 1.25x the teacher's."""
    import copy

    from torchmetrics.image.fid import FrechetInceptionDistance

    from sfd_lightning.io.checkpoint import extract_state_dict
    from sfd_lightning.metrics import ClassifierFeatures
    from sfd_lightning.models.one_step import OneStepGenerator

    teacher, classifier = load()
    generator = copy.deepcopy(teacher)
    generator.load_state_dict(
        extract_state_dict(torch.load(ASSETS / "digits_distilled.pt", weights_only=True), ["generator_ema.module."])
    )
    labels = torch.arange(10).repeat_interleave(300)
    noise = torch.randn((len(labels), 1, 8, 8), generator=torch.Generator().manual_seed(1))
    real = DigitsDataset("all")
    fid = FrechetInceptionDistance(
        feature=ClassifierFeatures(str(ASSETS / "digits_classifier.pt")), reset_real_features=False
    )
    fid.update(real.images, real=True)
    scores = {}
    with torch.no_grad():
        one_step = OneStepGenerator(generator, t_init=440)(noise, labels).clamp(-1, 1)
        assert (classifier(one_step).argmax(1) == labels).float().mean().item() >= 0.95
        for name, images in (
            ("generator", one_step),
            ("teacher", sample_ddim(teacher, noise, labels, steps=50).clamp(-1, 1)),
        ):
            fid.reset()
            fid.update(images, real=False)
            scores[name] = float(fid.compute())
    assert scores["generator"] <= 1.25 * scores["teacher"], scores


@pytest.mark.slow  # a one-iteration demo with all its evaluations (about a minute)
def test_the_demo_reads_the_teachers_fid_from_the_shipped_table(tmp_path, monkeypatch, user_cache):
    """`make demo` on a fresh machine: the teacher's FIDs hit assets/digits_teacher_fid.json (keyed by inputs, not
    by features whose last bits vary between machines), so the teacher is never sampled for them and nothing is
    written to the table or the user cache."""
    import hashlib

    from project import ROOT

    import sfd_lightning.models.unlearning_module as teacher_sampling
    from sfd_lightning.cli import main

    table = ASSETS / "digits_teacher_fid.json"
    before = hashlib.sha256(table.read_bytes()).hexdigest()

    def refuse(*args, **kwargs):
        raise AssertionError("the teacher was sampled for its FID: the shipped table missed")

    monkeypatch.setattr(teacher_sampling, "sample_ddim", refuse)  # UnlearningModule.teacher_images' sampler
    monkeypatch.chdir(ROOT)
    main(
        [
            "fit",
            "--config",
            "configs/digits_forget_2stage.yaml",
            "--data.init_args.iterations=1",
            "--trainer.logger=false",
            f"--trainer.default_root_dir={tmp_path}",
            "--trainer.enable_progress_bar=false",
        ]
    )
    report = (tmp_path / "report.json").read_text()
    assert '"fid/teacher"' in report
    assert hashlib.sha256(table.read_bytes()).hexdigest() == before and not any(user_cache.iterdir())
