"""Unlearning baselines beside SFD, as LightningModules run by ``sfd fit`` with SFD's data modules, callbacks
and loggers: ESD, SalUn and Selective Amnesia fine-tune a copy of the teacher and sample with its multi-step
sampler; retraining without the forgotten class is ``DiffusionModule`` on the retained data
(``configs/baselines/``)."""

from sfd_lightning.baselines.base import UnlearningBaseline
from sfd_lightning.baselines.esd import ESDModule
from sfd_lightning.baselines.salun import SalUnModule
from sfd_lightning.baselines.selective_amnesia import SelectiveAmnesiaModule

__all__ = ["ESDModule", "SalUnModule", "SelectiveAmnesiaModule", "UnlearningBaseline"]
