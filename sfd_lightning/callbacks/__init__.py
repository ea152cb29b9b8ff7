"""Callbacks: metrics, image grids, exports and the end-of-run report. Metrics never live in modules."""

from sfd_lightning.callbacks.attack import AttackCallback
from sfd_lightning.callbacks.clip_score import CLIPScoreCallback
from sfd_lightning.callbacks.export import ExportWeightsCallback
from sfd_lightning.callbacks.fid import FIDCallback
from sfd_lightning.callbacks.forget_accuracy import ForgetAccuracyCallback
from sfd_lightning.callbacks.identity import IdentityCallback
from sfd_lightning.callbacks.image_grid import ImageGridCallback
from sfd_lightning.callbacks.interrupt import InterruptCallback
from sfd_lightning.callbacks.nudity import NudityCallback
from sfd_lightning.callbacks.progress_lines import ProgressLines
from sfd_lightning.callbacks.prompt_accuracy import PromptAccuracyCallback
from sfd_lightning.callbacks.report import ReportCallback
from sfd_lightning.callbacks.speed import SamplerSpeedCallback
from sfd_lightning.callbacks.threads import TorchThreadsCallback
from sfd_lightning.metrics import ClassifierFeatures, InceptionFeatures  # former home, older configs: compat.py
from sfd_lightning.metrics.clip_score import CLIPScore  # its former home, for older configs: compat.py

__all__ = [
    "AttackCallback",
    "CLIPScore",
    "CLIPScoreCallback",
    "ClassifierFeatures",
    "ExportWeightsCallback",
    "FIDCallback",
    "ForgetAccuracyCallback",
    "IdentityCallback",
    "ImageGridCallback",
    "InceptionFeatures",
    "InterruptCallback",
    "NudityCallback",
    "ProgressLines",
    "PromptAccuracyCallback",
    "ReportCallback",
    "SamplerSpeedCallback",
    "TorchThreadsCallback",
]
