"""What the attacks attack: a differentiable sampler ``generate(z, condition) -> images in [-1, 1]``.

``sfd``: the EMA one-step generator of an SFD checkpoint or exported folder (one network evaluation).
``model``: a multi-step model (a baseline's fine-tuned copy of the teacher, a retrained model), by DDIM.
``teacher``: the teacher it came from, sampled by ``steps``-step DDIM with gradients.
"""

import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

import torch
from torch import nn

from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.diffusion.denoiser import Denoiser
from sfd_lightning.diffusion.samplers import ddim
from sfd_lightning.export.pipeline import OneStepPipeline
from sfd_lightning.io.checkpoint import read_checkpoint
from sfd_lightning.io.checkpoint_models import autoencoder_of, is_one_step, load_multistep
from sfd_lightning.io.folder import generator_of, read_folder
from sfd_lightning.io.sfd_weights import run_teacher
from sfd_lightning.io.source import Source
from sfd_lightning.models.frozen import freeze


@dataclass
class AttackTarget:
    """A sampler the attacks differentiate through; ``net`` holds the condition tokens (``condition_token``)."""

    name: str
    description: str
    generate: Callable[[torch.Tensor, Condition], torch.Tensor]
    net: nn.Module
    shape: Tuple[int, ...]
    nfe: int  # network evaluations per image
    denoiser: Optional[Denoiser] = None  # a multi-step model's: its denoising loss (the relearning attack's)
    encode: Optional[Callable[[torch.Tensor], torch.Tensor]] = None  # latent models: images to the denoiser's space


def one_step_target(pipe: OneStepPipeline) -> AttackTarget:
    """The attack target of a loaded one-step generator (see :class:`OneStepPipeline`)."""
    freeze(pipe.generator)
    return AttackTarget(
        "sfd",
        "SFD one-step generator",
        lambda z, c: pipe.decode(pipe.generator(z, c)),
        pipe.generator.denoiser.net,
        pipe.shape,
        1,
    )


def teacher_target(
    teacher: Denoiser,
    steps: int,
    decode: Optional[Callable] = None,
    name: str = "teacher",
    what: str = "teacher",
    encode: Optional[Callable] = None,
) -> AttackTarget:
    """A multi-step model's ``steps``-step DDIM sampler, with gradients (no guidance: the SFD runs' teacher scale
    is 1): the teacher, or a baseline's fine-tuned model (``name`` "model")."""
    freeze(teacher)
    decode = decode or (lambda x: x)
    net = teacher.net
    shape = (net.in_channels, net.resolution, net.resolution)
    return AttackTarget(
        name,
        f"{what}, {steps}-step DDIM",
        lambda z, c: decode(ddim(teacher, z, c, steps)),
        net,
        shape,
        steps,
        teacher,
        encode,
    )


def multistep_meta(ckpt: Dict[str, Any], hparams: Dict[str, Any]) -> Dict[str, Any]:
    """What :func:`load_targets` needs of a multi-step checkpoint, in the one-step metadata's keys."""
    config = hparams.get("teacher") or hparams.get("denoiser") or ckpt.get("config")
    return {
        "denoiser": config,
        "num_classes": hparams.get("num_classes"),
        "forget_label": hparams.get("forget_label"),
        "settings": {"teacher_ckpt": hparams.get("teacher_ckpt")},
    }


def load_targets(
    path: str, teacher_path: Optional[str], teacher_steps: int, device: torch.device
) -> Tuple[Dict[str, Any], AttackTarget, AttackTarget]:
    """(metadata, the attacked model's target, its teacher's target) from an SFD checkpoint or exported folder (the
    one-step generator: ``sfd``) or a multi-step model's checkpoint (a baseline's fine-tuned model, a retrained
    DiffusionModule, a teacher asset: ``model``, sampled like the teacher with ``teacher_steps`` DDIM steps).

    The teacher is the model's own architecture with the weights of ``teacher_path``, by default the
    ``teacher_ckpt`` the run was trained from.
    """
    source = Source(path, "--ckpt")
    if os.path.isdir(path):
        meta, state = read_folder(source)
    else:
        ckpt = read_checkpoint(source)
        meta, state = generator_of(ckpt, source) if is_one_step(ckpt) else (None, None)
    if meta is not None:
        pipe = OneStepPipeline.from_parts(meta, state, source, device)
        target, decode, encode = one_step_target(pipe), pipe.decode, pipe.encode
    else:
        model, what, hparams = load_multistep(ckpt, path, device)
        meta, autoencoder = multistep_meta(ckpt, hparams), autoencoder_of(hparams, path, device)
        decode, encode = (lambda x: x, None) if autoencoder is None else (autoencoder.decode, autoencoder.encode)
        target = teacher_target(model, teacher_steps, decode, name="model", what=what, encode=encode)
    teacher_path = teacher_path or (meta.get("settings") or {}).get("teacher_ckpt")
    teacher = run_teacher(meta["denoiser"], teacher_path, source, "")
    return meta, target, teacher_target(teacher.to(device), teacher_steps, decode, encode=encode)
