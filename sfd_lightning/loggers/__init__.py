"""Experiment logging: the W&B logger of the configs (``sfd_lightning.loggers.SFDWandbLogger``) and W&B runs that
``sfd eval`` and ``sfd attack`` add their results to (wandb_run)."""

from sfd_lightning.loggers.wandb_logger import SFDWandbLogger

__all__ = ["SFDWandbLogger"]
