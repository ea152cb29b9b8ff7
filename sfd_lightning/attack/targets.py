"""What the attacks attack: a differentiable sampler ``generate(z, condition) -> images in [-1, 1]``.

``sfd``: the EMA one-step generator of an SFD checkpoint or exported folder (one network evaluation).
``teacher``: the teacher it was distilled from, sampled by ``steps``-step DDIM with gradients.
"""
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

import torch
from torch import nn

from sfd_lightning.checkpoints import build
from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.diffusion.denoiser import Denoiser
from sfd_lightning.diffusion.samplers import ddim
from sfd_lightning.errors import ConfigError
from sfd_lightning.export.folder import generator_of_checkpoint, read_folder
from sfd_lightning.export.pipeline import OneStepPipeline
from sfd_lightning.models.sfd_networks import load_teacher_weights


@dataclass
class AttackTarget:
    """A sampler the attacks differentiate through; ``net`` holds the condition tokens (``condition_token``)."""

    name: str
    description: str
    generate: Callable[[torch.Tensor, Condition], torch.Tensor]
    net: nn.Module
    shape: Tuple[int, ...]
    nfe: int  # network evaluations per image


def frozen(module: nn.Module) -> nn.Module:
    return module.eval().requires_grad_(False)


def one_step_target(pipe: OneStepPipeline) -> AttackTarget:
    """The attack target of a loaded one-step generator (see :class:`OneStepPipeline`)."""
    frozen(pipe.generator)
    return AttackTarget("sfd", "SFD one-step generator", lambda z, c: pipe.decode(pipe.generator(z, c)),
                        pipe.generator.denoiser.net, pipe.shape, 1)


def teacher_target(teacher: Denoiser, steps: int, decode: Optional[Callable] = None) -> AttackTarget:
    """The teacher's ``steps``-step DDIM sampler, with gradients (no guidance: the SFD runs' teacher scale is 1)."""
    frozen(teacher)
    decode = decode or (lambda x: x)
    net = teacher.net
    shape = (net.in_channels, net.resolution, net.resolution)
    return AttackTarget("teacher", f"teacher, {steps}-step DDIM", lambda z, c: decode(ddim(teacher, z, c, steps)), net, shape, steps)


def load_targets(path: str, teacher_path: Optional[str], teacher_steps: int,
                 device: torch.device) -> Tuple[Dict[str, Any], AttackTarget, AttackTarget]:
    """(the generator's metadata, its target, its teacher's target) from an SFD checkpoint or exported folder.

    The teacher is the generator's own architecture with the weights of ``teacher_path``, by default the
    ``teacher_ckpt`` the run was trained from.
    """
    meta, state = read_folder(path, "--ckpt") if os.path.isdir(path) else generator_of_checkpoint(path, "--ckpt")
    pipe = OneStepPipeline.from_parts(meta, state, path, device, field="--ckpt")
    teacher_path = teacher_path or (meta.get("settings") or {}).get("teacher_ckpt")
    if not teacher_path:
        raise ConfigError("--teacher", f"{path!r} records no teacher_ckpt; give the teacher's weights with --teacher")
    if not os.path.exists(teacher_path):
        raise ConfigError("--teacher", f"the teacher {teacher_path!r} does not exist (give its path with --teacher)")
    teacher = build(meta["denoiser"], "--ckpt", path)
    load_teacher_weights(teacher, teacher_path)
    return meta, one_step_target(pipe), teacher_target(teacher.to(device), teacher_steps, pipe.decode)
