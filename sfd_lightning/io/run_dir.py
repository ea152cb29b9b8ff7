"""Where a run's files go, computed locally (callbacks ask on rank 0 only, so no collective call)."""

import os

from lightning.pytorch import Trainer
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger


def run_dir(trainer: Trainer) -> str:
    """The logger's run folder: ``version_N`` for CSV/TensorBoard, ``<save_dir>/<project>/<run id>`` for W&B.

    ``trainer.log_dir`` would broadcast from rank 0 and hang when only rank 0 asks.
    """
    logger = trainer.logger
    if logger is None:
        return trainer.default_root_dir
    if isinstance(logger, (CSVLogger, TensorBoardLogger)):
        return logger.log_dir
    if logger.save_dir and logger.name and logger.version is not None:
        return os.path.join(logger.save_dir, str(logger.name), str(logger.version))
    return logger.save_dir or trainer.default_root_dir
