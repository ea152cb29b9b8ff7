"""Noise schedules, the denoiser interface and its adapters, and multi-step samplers."""

from sfd_lightning.diffusion.denoiser import (
    NULL_LABEL,
    Denoiser,
    EpsDenoiser,  # noqa: F401  (old class paths: sfd_lightning.compat)
    FlowDenoiser,
    VPDenoiser,
    guided,
)
from sfd_lightning.diffusion.flow_schedule import FlowSchedule
from sfd_lightning.diffusion.samplers import sample_ddim
from sfd_lightning.diffusion.schedule import VPSchedule

__all__ = [
    "NULL_LABEL",
    "Denoiser",
    "FlowDenoiser",
    "FlowSchedule",
    "VPDenoiser",
    "VPSchedule",
    "guided",
    "sample_ddim",
]
