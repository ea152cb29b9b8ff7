"""How many CPU threads PyTorch uses during a run, chosen in the config.

A small network on a machine of few cores gains little from a second thread, and loses much when
another process shares the cores: the digits demo's SFD iteration takes about 0.14 s with two threads
and 0.19 s with one on an idle 2-core machine, but 0.6 s or more with two and still 0.2 s with one
beside another busy process (experiments/digits_tuning.md). Every number computed depends slightly on
the thread count (float sums), as with ``OMP_NUM_THREADS``.
"""
import os
from typing import Optional

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from sfd_lightning.errors import ConfigError

THREADS_ENV = "OMP_NUM_THREADS"


class TorchThreadsCallback(Callback):
    """``torch.set_num_threads(num_threads)`` from setup (training and the evaluations) to teardown, which restores
    the former count; a thread count set in ``OMP_NUM_THREADS`` wins, as the user's own choice."""

    def __init__(self, num_threads: int = 1):
        """
        Args:
            num_threads: PyTorch's intra-op CPU threads for the run (ignored when ``OMP_NUM_THREADS`` is set).
        """
        if num_threads < 1:
            raise ConfigError("num_threads", f"must be >= 1, got {num_threads}")
        self.num_threads = num_threads
        self._former: Optional[int] = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if os.environ.get(THREADS_ENV) or self._former is not None:
            return
        self._former = torch.get_num_threads()
        torch.set_num_threads(self.num_threads)

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if self._former is not None:
            torch.set_num_threads(self._former)
            self._former = None
