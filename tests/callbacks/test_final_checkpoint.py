"""The trained weights reach last.ckpt before the end-of-training evaluations, which may fail."""

import pytest
import torch
from failing_callback import FailAtFinalEvaluation
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from sfd_modules import make_module, noise_data

from sfd_lightning.callbacks.periodic import PeriodicEvalCallback


class NoEvaluation(PeriodicEvalCallback):
    def evaluate(self, trainer, pl_module, final):
        return {}


def fit_with(module, tmp_path, callbacks, iterations=3):
    trainer = Trainer(
        accelerator="cpu",
        max_epochs=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        callbacks=callbacks,
    )
    trainer.fit(module, datamodule=noise_data(module, iterations))
    return trainer


def test_a_failing_final_evaluation_keeps_the_last_iteration(tiny_denoiser, tmp_path):
    # every 100 steps: none of the 3 iterations (6 steps) is a checkpoint step, as at the end of most runs
    checkpoint = ModelCheckpoint(
        dirpath=tmp_path / "checkpoints", save_last=True, save_top_k=0, every_n_train_steps=100
    )
    with pytest.raises(RuntimeError, match="final evaluation failure"):
        fit_with(make_module(tiny_denoiser), tmp_path, [FailAtFinalEvaluation(), checkpoint])
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["sfd_iteration"] == 3 and saved["global_step"] == 6


def test_the_final_state_is_written_once(tiny_denoiser, tmp_path, monkeypatch):
    writes = []
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "checkpoints", save_last=True, save_top_k=0, every_n_train_steps=2)
    trainer_save = Trainer.save_checkpoint
    monkeypatch.setattr(
        Trainer,
        "save_checkpoint",
        lambda self, path, *a, **k: writes.append(self.global_step) or trainer_save(self, path, *a, **k),
    )
    fit_with(make_module(tiny_denoiser), tmp_path, [NoEvaluation(), checkpoint], iterations=3)
    assert writes.count(6) == 1  # saved by ModelCheckpoint at its step, not again before the final evaluation
