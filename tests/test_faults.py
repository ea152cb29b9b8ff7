"""Faults: resuming equals not stopping, non-finite updates never reach the weights, max_steps counts iterations."""

import pytest
import torch
from lightning.pytorch import Trainer
from sfd_modules import make_module

from sfd_lightning.data import NoiseLabelDataModule
from sfd_lightning.models.lora import LoRA
from sfd_lightning.models.sfd_module import NonFiniteError
from sfd_lightning.override import RandomOverride


def trainer(tmp_path, **kwargs):
    args = dict(
        accelerator="cpu",
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    args.update(kwargs)
    return Trainer(**args)


def data(iterations):
    return NoiseLabelDataModule(shape=(1, 8, 8), batch_size=4, iterations=iterations, num_classes=3, forget_label=0)


def trained_state(module, tr):
    """Weights (generator, EMA, fake score), both optimisers' states and the counters."""
    state = {k: v.clone() for k, v in module.state_dict().items() if not k.startswith("teacher.")}
    for i, opt in enumerate(tr.optimizers):
        for pid, s in opt.state_dict()["state"].items():
            state.update({f"opt{i}.{pid}.{k}": torch.as_tensor(v).clone() for k, v in s.items()})
        state[f"opt{i}.lr"] = torch.tensor(opt.param_groups[0]["lr"])
    state["iteration"] = torch.tensor(module.iteration)
    return state


@pytest.mark.parametrize("lora", [None, LoRA(rank=2)], ids=["full", "lora"])
def test_resume_equals_uninterrupted(tiny_denoiser, tmp_path, lora):
    kwargs = dict(
        override_label=None,
        override=RandomOverride(),  # random overrides: the RNG must resume too
        lr_scheduler=lambda opt: torch.optim.lr_scheduler.MultiStepLR(
            opt, milestones=[3], gamma=0.5
        ),  # and the schedule
        lora=lora,
    )  # LoRA checkpoints hold the adapters only: the frozen bases come back from the config
    straight = make_module(tiny_denoiser, **kwargs)
    tr = trainer(tmp_path / "a")
    tr.fit(straight, datamodule=data(5))
    expected = trained_state(straight, tr)

    from lightning.pytorch.callbacks import ModelCheckpoint

    first = make_module(tiny_denoiser, **kwargs)  # a run that saves mid-epoch, as a killed run would have
    saver = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=4, save_top_k=-1)
    trainer(tmp_path / "b", enable_checkpointing=True, callbacks=[saver]).fit(first, datamodule=data(5))
    mid = tmp_path / "ckpt" / "epoch=0-step=2.ckpt"  # step= in the name: the iteration (global_step 4)
    assert torch.load(mid, weights_only=True)["sfd_iteration"] == 2

    resumed = make_module(tiny_denoiser, **kwargs)
    tr2 = trainer(tmp_path / "c")
    tr2.fit(resumed, datamodule=data(5), ckpt_path=mid)
    got = trained_state(resumed, tr2)
    assert got.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-5, atol=1e-6, msg=key)
    assert tr2.global_step == tr.global_step == 10  # Lightning's count: two optimiser steps per iteration


def poison_teacher_at(module, iteration):
    """Make the teacher output NaN during SFD iteration ``iteration`` (it only enters the generator loss)."""

    def hook(_, __, out):
        return torch.full_like(out, float("nan")) if module.iteration == iteration else out

    module.teacher.net.register_forward_hook(hook)


def test_nonfinite_generator_loss_is_skipped_and_counted(tiny_denoiser, tmp_path):
    reference = make_module(tiny_denoiser)
    trainer(tmp_path / "a").fit(reference, datamodule=data(1))
    poisoned = make_module(tiny_denoiser)
    poison_teacher_at(poisoned, 1)
    tr = trainer(tmp_path / "b")
    tr.fit(poisoned, datamodule=data(2))
    assert poisoned.skipped_steps == 1 and poisoned.iteration == 2
    assert float(tr.callback_metrics["nonfinite/skipped"]) == 1.0
    for k, v in poisoned.generator.state_dict().items():  # the poisoned generator update never happened
        torch.testing.assert_close(v, reference.generator.state_dict()[k], msg=k)
    assert all(torch.isfinite(p).all() for p in poisoned.parameters())
    fake_changed = any(
        not torch.equal(v, reference.fake_score.state_dict()[k]) for k, v in poisoned.fake_score.state_dict().items()
    )
    assert fake_changed  # the fake-score update of that iteration was finite and went ahead


def test_nonfinite_samples_dropped_as_the_reference_sd_loop_does(tiny_denoiser, tmp_path):
    """``on_nonfinite: drop``: a sample whose loss is NaN leaves the loss (the rest still averages over B),
    NaN gradients become 0, the run goes on and every weight stays finite."""
    module = make_module(tiny_denoiser, on_nonfinite="drop")

    def hook(_, __, out):  # the teacher's prediction for the first row is NaN in iteration 1
        if module.iteration != 1:
            return out
        out = out.clone()
        out[0] = float("nan")
        return out

    module.teacher.net.register_forward_hook(hook)
    tr = trainer(tmp_path)
    tr.fit(module, datamodule=data(2))
    assert module.iteration == 2 and module.skipped_steps == 0
    assert float(tr.callback_metrics["nonfinite/dropped"]) == 1.0
    assert torch.isfinite(tr.callback_metrics["loss/generator_remain"])
    assert all(torch.isfinite(p).all() for p in module.parameters())


def test_nonfinite_stop_raises_and_keeps_saved_checkpoint(tiny_denoiser, tmp_path):
    from lightning.pytorch.callbacks import ModelCheckpoint

    module = make_module(tiny_denoiser, on_nonfinite="stop")
    poison_teacher_at(module, 2)
    saver = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=2, save_top_k=-1)
    tr = trainer(tmp_path, enable_checkpointing=True, callbacks=[saver])
    with pytest.raises(NonFiniteError, match="iteration 2: the generator loss .* not finite"):
        tr.fit(module, datamodule=data(4))
    saved = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert saved == ["epoch=0-step=1.ckpt", "epoch=0-step=2.ckpt"]  # step=: iterations
    ckpt = torch.load(tmp_path / "ckpt" / "epoch=0-step=2.ckpt", weights_only=True)
    assert ckpt["sfd_iteration"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point())


def test_max_steps_counts_sfd_iterations(tiny_denoiser, tmp_path):
    module = make_module(tiny_denoiser)
    tr = trainer(tmp_path, max_steps=3)
    tr.fit(module, datamodule=data(10))
    assert module.iteration == 3 and tr.global_step == 6


def test_a_failing_callback_keeps_earlier_checkpoints_and_wandb_data(tmp_path):
    """A run that fails for another reason than a signal exits non-zero and leaves what it saved as it was:
    the last periodic checkpoint (not overwritten with the failing state) and the W&B run's records."""
    import subprocess
    import sys

    import yaml
    from project import HELPERS, ROOT, short_forget_config, subprocess_env
    from wandb_records import read_records

    path = short_forget_config(
        tmp_path, iterations=10, every_n_iterations=0, n_per_label=2, teacher_steps=2, every_n_train_steps=4
    )  # last.ckpt every 2 iterations
    config = yaml.safe_load(path.read_text())
    config["trainer"]["callbacks"].append(
        {"class_path": "failing_callback.FailAtIteration", "init_args": {"iteration": 5}}
    )
    config["trainer"]["log_every_n_steps"] = 1
    path.write_text(yaml.safe_dump(config))
    env = subprocess_env(WANDB_MODE="offline", PYTHONPATH=str(HELPERS))
    proc = subprocess.run(
        [sys.executable, "-m", "sfd_lightning", "fit", "--config", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1 and "callback failure at iteration 5" in proc.stderr, proc.stderr[-2000:]
    assert "interrupted by" not in proc.stderr
    last = next(tmp_path.rglob("checkpoints/last.ckpt"))
    assert torch.load(last, weights_only=True)["sfd_iteration"] == 4
    logged = [
        {"/".join(item.nested_key) or item.key for item in record.history.item}
        for record in read_records(next(tmp_path.rglob("run-*.wandb")))
        if record.HasField("history")
    ]
    assert sum("loss/generator_remain" in keys for keys in logged) >= 4, logged[:3]  # one row per iteration logged


def test_a_run_whose_generator_never_updated_fails_before_its_final_evaluation(tiny_denoiser, tmp_path):
    """A teacher that is NaN in every iteration: every generator update is skipped, so the run stops with
    NonFiniteError at the epoch's end instead of evaluating and reporting the untouched generator."""
    from sfd_lightning.callbacks.periodic import PeriodicEvalCallback

    class Evaluations(PeriodicEvalCallback):
        finals = 0

        def evaluate(self, trainer, pl_module, final):
            Evaluations.finals += final
            return {}

    module = make_module(tiny_denoiser)
    module.teacher.net.register_forward_hook(lambda _, __, out: torch.full_like(out, float("nan")))
    with pytest.raises(NonFiniteError, match=r"every generator update was skipped .*2 skipped by iteration 2"):
        trainer(tmp_path, callbacks=[Evaluations()]).fit(module, datamodule=data(2))
    assert Evaluations.finals == 0 and module.skipped_steps == 2


def test_the_report_shows_skipped_updates():
    from sfd_lightning.metrics.table import format_report

    table = format_report({"forget/accuracy": 0.0, "nonfinite/skipped": 10.0})
    assert "updates skipped (non-finite loss or gradients) |               10 |" in table


def test_full_disk_during_a_checkpoint_write_is_one_error_and_keeps_the_last_one(tiny_denoiser, tmp_path, monkeypatch):
    import errno

    from lightning.pytorch.callbacks import ModelCheckpoint

    import sfd_lightning.io.atomic as checkpoints
    from sfd_lightning.errors import ConfigError

    def fit(module):
        saver = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, save_top_k=0, enable_version_counter=False)
        trainer(tmp_path, enable_checkpointing=True, callbacks=[saver], plugins=[checkpoints.AtomicCheckpointIO()]).fit(
            module, datamodule=data(1)
        )

    fit(make_module(tiny_denoiser))
    last = tmp_path / "ckpt" / "last.ckpt"
    before = last.read_bytes()

    def full_disk(obj, f):
        f.write(b"half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoints.torch, "save", full_disk)
    with pytest.raises(ConfigError) as err:
        fit(make_module(tiny_denoiser))
    assert (
        str(err.value)
        == f"checkpoint: cannot write '{last}' (No space left on device); the previous last.ckpt there is intact"
    )
    assert err.value.__cause__ is None and err.value.__suppress_context__  # one line, no chained tracebacks
    assert last.read_bytes() == before and sorted(p.name for p in last.parent.iterdir()) == ["last.ckpt"]
