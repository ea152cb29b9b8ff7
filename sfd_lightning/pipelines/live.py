"""A training run's own networks as pipelines, for the callbacks: no file is read."""

from sfd_lightning.models.sfd_module import SFDModule
from sfd_lightning.pipelines.multi_step import MultiStepPipeline
from sfd_lightning.pipelines.one_step import OneStepPipeline


def _encode(pl_module: SFDModule):
    return None if pl_module.autoencoder is None else pl_module.autoencoder.encode


def from_module(pl_module: SFDModule) -> OneStepPipeline:
    """A live SFDModule's EMA generator (the same weights, frozen: call it once training is over), decoded as the
    run decodes."""
    return OneStepPipeline(pl_module.one_step(ema=True), pl_module.decode, {}, _encode(pl_module))


def module_teacher(pl_module: SFDModule, steps: int) -> MultiStepPipeline:
    """A live module's frozen teacher by ``steps``-step DDIM, decoded and encoded as the run does."""
    return MultiStepPipeline(pl_module.teacher, steps, pl_module.decode, _encode(pl_module))
