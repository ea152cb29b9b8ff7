"""TorchThreadsCallback: the run's thread count from setup to teardown, OMP_NUM_THREADS first."""

import pytest
import torch
from lightning.pytorch import Callback, Trainer
from sfd_modules import make_module, noise_data

from sfd_lightning.callbacks import TorchThreadsCallback
from sfd_lightning.errors import ConfigError


class RecordThreads(Callback):
    def __init__(self):
        self.seen = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.seen.append(torch.get_num_threads())

    def on_train_end(self, trainer, pl_module):  # the final evaluations' hook
        self.seen.append(torch.get_num_threads())


def fit_with(module, tmp_path, callbacks):
    Trainer(
        accelerator="cpu",
        max_epochs=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        default_root_dir=tmp_path,
        callbacks=callbacks,
    ).fit(module, datamodule=noise_data(module, 2))


@pytest.fixture
def two_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    former = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(former)


def test_training_and_final_evaluations_use_the_count_then_it_is_restored(tiny_denoiser, tmp_path, two_threads):
    record = RecordThreads()
    fit_with(make_module(tiny_denoiser), tmp_path, [TorchThreadsCallback(1), record])
    assert record.seen == [1, 1, 1]
    assert torch.get_num_threads() == 2


def test_omp_num_threads_wins(tiny_denoiser, tmp_path, two_threads, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    record = RecordThreads()
    fit_with(make_module(tiny_denoiser), tmp_path, [TorchThreadsCallback(1), record])
    assert record.seen == [2, 2, 2]


def test_a_count_below_one_is_refused():
    with pytest.raises(ConfigError, match="num_threads: must be >= 1, got 0"):
        TorchThreadsCallback(0)
