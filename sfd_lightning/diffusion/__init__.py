"""Noise schedules, the denoiser interface and its adapters, and multi-step samplers."""
from sfd_lightning.diffusion.denoiser import NULL_LABEL, Denoiser, EpsDenoiser, VPDenoiser, guided  # noqa: F401 (EpsDenoiser: old class_paths)
from sfd_lightning.diffusion.samplers import sample_ddim
from sfd_lightning.diffusion.schedule import VPSchedule

__all__ = ["NULL_LABEL", "Denoiser", "VPDenoiser", "VPSchedule", "guided", "sample_ddim"]
