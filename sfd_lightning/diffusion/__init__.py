"""Noise schedules, the denoiser interface and its adapters, and multi-step samplers."""
from sfd_lightning.diffusion.denoiser import NULL_LABEL, Denoiser, EpsDenoiser, guided
from sfd_lightning.diffusion.samplers import sample_ddim
from sfd_lightning.diffusion.schedule import VPSchedule

__all__ = ["NULL_LABEL", "Denoiser", "EpsDenoiser", "VPSchedule", "guided", "sample_ddim"]
