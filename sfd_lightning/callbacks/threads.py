"""How many CPU threads PyTorch uses during a run, chosen in the config.

A small network on a machine of few cores may run faster on one thread than on several, and a
thread that waits for another stalls when a second process shares the cores: the digits demo runs
5.2 SFD iterations a second on one thread and 3.2 on two on a 2-core machine (the whole run 134 s
against 206 s; docs/digits_tuning.md). Every number computed depends slightly on the thread
count (float sums), as with ``OMP_NUM_THREADS``.
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
