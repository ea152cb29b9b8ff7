"""Metric callbacks: forgetting metrics by hand, and rank splitting that adds up to one process."""

import json
import math
from types import SimpleNamespace

import pytest
import torch

from sfd_lightning.metrics.forget import ForgetMetrics
from sfd_lightning.metrics.sampling import labels_for, sample_labels
from sfd_lightning.metrics.table import format_report


def logits_for(preds, k=3, margin=10.0):
    out = torch.zeros(len(preds), k)
    out[torch.arange(len(preds)), torch.tensor(preds)] = margin
    return out


def test_forget_metrics_by_hand():
    m = ForgetMetrics(num_classes=3, forget_label=0, override_label=1)
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2])
    preds = [0, 1, 1, 2, 1, 2, 2, 2]  # forget: 1 of 4 still a 0, 2 of 4 overridden; retained: 3 of 4 right
    m.update(logits_for(preds), labels)
    out = m.compute()
    assert out["forget/accuracy"] == pytest.approx(0.25)
    assert out["forget/ua"] == pytest.approx(0.75)
    assert out["forget/override_rate"] == pytest.approx(0.5)
    assert out["retained/accuracy"] == pytest.approx(0.75)
    assert out["retained/accuracy_1"] == pytest.approx(0.5) and out["retained/accuracy_2"] == pytest.approx(1.0)
    p_win = math.exp(10) / (math.exp(10) + 2)
    assert out["forget/prob"] == pytest.approx((p_win + 3 * (1 - p_win) / 2) / 4, rel=1e-6)
    p_lose = (1 - p_win) / 2
    entropy = -(p_win * math.log(p_win) + 2 * p_lose * math.log(p_lose))
    assert out["forget/entropy"] == pytest.approx(entropy, rel=1e-6)


def test_forget_metrics_merge_like_ddp():
    """Two ranks' states summed (what torchmetrics' sync does) equal one process on all samples."""
    torch.manual_seed(0)
    logits, labels = torch.randn(40, 4), torch.randint(0, 4, (40,))
    whole = ForgetMetrics(4, 2, 3)
    whole.update(logits, labels)
    ranks = [ForgetMetrics(4, 2, 3) for _ in range(2)]
    ranks[0].update(logits[::2], labels[::2])
    ranks[1].update(logits[1::2], labels[1::2])
    ranks[0].merge_state(ranks[1])
    for key, value in whole.compute().items():
        assert ranks[0].compute()[key] == pytest.approx(value), key


def test_rank_shares_add_up_to_one_process():
    labels = labels_for(range(3), 7, torch.device("cpu"))  # 21 samples, blocks of 4

    def sampler(noise, y):
        return noise + y.view(-1, 1, 1, 1)

    def trainer(rank, world):
        return SimpleNamespace(global_rank=rank, world_size=world)

    single, single_y = sample_labels(sampler, labels, (1, 2, 2), seed=5, batch_size=4, trainer=trainer(0, 1))
    shares = [sample_labels(sampler, labels, (1, 2, 2), seed=5, batch_size=4, trainer=trainer(r, 2)) for r in range(2)]
    assert sum(len(y) for _, y in shares) == len(labels)
    merged = {}
    for images, y in shares:
        for image, label in zip(images, y):
            merged.setdefault(int(label), []).append(image)
    by_label = {c: torch.stack(v) for c, v in merged.items()}
    for c in range(3):
        expected = single[single_y == c]
        got = by_label[c]
        # same multiset of samples per label: compare sorted sums
        torch.testing.assert_close(expected.flatten(1).sum(1).sort().values, got.flatten(1).sum(1).sort().values)
    assert not torch.equal(shares[0][0][:4], shares[1][0][:4])  # ranks draw different noise


def test_report_table_formats_known_rows():
    table = format_report({"forget/accuracy": 0.0125, "fid/generator": 1.23456, "speed/speedup": 57.0})
    assert "1.25%" in table and "1.235" in table and "57.0x" in table
    assert "retained-class accuracy" not in table


def test_reference_labels_read_without_loading_images():
    from torch.utils.data import Subset

    from sfd_lightning.callbacks.fid import reference_labels
    from sfd_lightning.data import DigitsDataset

    ds = DigitsDataset("val")
    by_item = reference_labels(Subset(ds, range(len(ds))))  # no label attribute: indexes every item
    assert reference_labels(ds) == by_item == ds.labels.tolist()


def test_progress_lines_when_the_output_is_a_file(tiny_denoiser, tmp_path):
    """Every ``every_n_iterations`` and at the last iteration: the count, the rate, every loss and learning rate."""
    import io

    from lightning.pytorch import Trainer
    from sfd_modules import make_module, noise_data

    from sfd_lightning.callbacks.progress_lines import ProgressLines

    out = io.StringIO()
    module = make_module(tiny_denoiser)
    Trainer(
        accelerator="cpu",
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        log_every_n_steps=1,
        callbacks=[ProgressLines(every_n_iterations=2, stream=out)],
    ).fit(module, datamodule=noise_data(module, 5))
    lines = out.getvalue().splitlines()
    assert [line.split(" | ")[0] for line in lines] == [
        "iteration 2/5 (40%)",
        "iteration 4/5 (80%)",
        "iteration 5/5 (100%)",
    ]
    assert all(
        "it/s" in line and "ETA" in line and "loss/generator_remain" in line and "lr/generator" in line
        for line in lines
    )


def test_grid_rows_carry_their_class_or_prompt():
    from sfd_lightning.callbacks.image_grid import class_row_labels, label_grid

    images = torch.full((6, 1, 32, 32), -1.0)  # black images: only captions can put ink in the white strips
    plain = label_grid(images, n_per_label=3)
    labelled = label_grid(images, n_per_label=3, row_labels=["0 (forgotten)", "a photo of a one"])
    row = 32 + 2 * 2  # a row of images with its padding above and below, then its 14-pixel caption
    assert labelled.shape[-1] == plain.shape[-1] and labelled.shape[1] == 2 * (row + 14)
    strips = [labelled[:, k * (row + 14) + row : (k + 1) * (row + 14)] for k in range(2)]
    assert all((s < 0.5).any() and (s > 0.5).any() for s in strips)  # text drawn on white
    assert (labelled[:, 2 : row - 2, 2:34] == 0).all()  # the images themselves untouched
    empty = label_grid(images, n_per_label=3, row_labels=["", ""])
    assert (empty[:, row : row + 14] == 1).all()
    with pytest.raises(ValueError, match="3 row labels"):
        label_grid(images, n_per_label=3, row_labels=["a", "b", "c"])
    assert class_row_labels([0, 1], forget_label=0, num_classes=10) == ["0 (forgotten)", "1"]
    assert class_row_labels([1], forget_label=None, num_classes=1000)[0].startswith("1 goldfish")


def test_evaluation_sampling_shows_progress_in_a_log_file():
    import io

    from sfd_lightning.metrics.eval_progress import eval_progress

    out = io.StringIO()
    assert list(eval_progress(range(8), 8, "FID of the teacher", stream=out)) == list(range(8))
    assert [line.split(" (")[0] for line in out.getvalue().splitlines()] == [
        f"FID of the teacher: {k}/8 blocks" for k in (2, 4, 6, 8)
    ]
    quiet = io.StringIO()
    assert list(eval_progress(range(3), 3, "x", enabled=False, stream=quiet)) == [0, 1, 2]  # other ranks
    assert list(eval_progress(range(3), 3, None, stream=quiet)) == [0, 1, 2] and quiet.getvalue() == ""


def test_evaluations_draw_the_noise_sfd_sample_draws():
    """One seed scheme: a callback's samples for (seed, batch size) use the noise of `sfd sample`'s blocks."""
    from sfd_lightning.data.sample_blocks import SampleBlocks

    labels = labels_for(range(3), 7, torch.device("cpu"))
    single = SimpleNamespace(global_rank=0, world_size=1)
    noise, y = sample_labels(lambda z, _: z, labels, (1, 2, 2), seed=5, batch_size=4, trainer=single)
    blocks = SampleBlocks(labels, (1, 2, 2), batch_size=4, seed=5)
    assert torch.equal(noise, torch.cat([blocks[j]["noise"] for j in range(len(blocks))])) and torch.equal(y, labels)


def test_report_shows_the_spread_over_seeds():
    table = format_report({"fid/ratio": 1.0723, "fid/ratio_spread": 0.0312})
    assert "1.072 ± 0.031" in table


class TinyFeatures(torch.nn.Module):
    num_features = 4

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(64, 4)

    def forward(self, x):
        return self.proj(x.flatten(1))


def test_teacher_fid_is_cached_per_seed_and_recomputed_when_the_teacher_changes(
    tiny_denoiser, tmp_path, monkeypatch, user_cache
):
    from sfd_modules import fit, make_module
    from torch.utils.data import TensorDataset

    import sfd_lightning.models.unlearning_module as teacher_sampling
    from sfd_lightning.callbacks import FIDCallback

    torch.manual_seed(0)
    real = TensorDataset(torch.rand(60, 1, 8, 8) * 2 - 1, torch.arange(60) % 3)
    features = TinyFeatures()
    teacher_calls = []
    ddim = teacher_sampling.sample_ddim  # the teacher's sampler (UnlearningModule.teacher_images)
    monkeypatch.setattr(teacher_sampling, "sample_ddim", lambda *a, **k: teacher_calls.append(1) or ddim(*a, **k))
    shipped = tmp_path / "shipped_teacher_fid.json"  # read, never written
    cache = user_cache / "teacher_fid.json"  # where misses go

    def run(module):
        cb = FIDCallback(
            real, features, n_per_label=8, teacher_steps=2, batch_size=8, n_seeds=2, teacher_cache=str(shipped)
        )
        fit(module, iterations=1, tmp_path=tmp_path, callbacks=[cb])
        return cb.results

    first = run(make_module(tiny_denoiser))
    assert {"fid/generator_spread", "fid/teacher_spread", "fid/ratio_spread"} <= first.keys()
    computed = len(teacher_calls)
    assert computed > 0 and len(json.loads(cache.read_text())) == 2  # one entry per seed
    second = run(make_module(tiny_denoiser))
    assert len(teacher_calls) == computed and second["fid/teacher"] == first["fid/teacher"]
    other = make_module(tiny_denoiser)
    with torch.no_grad():
        next(other.teacher.parameters()).add_(0.1)
    run(other)
    assert len(teacher_calls) == 2 * computed and len(json.loads(cache.read_text())) == 4
    assert not shipped.exists()
