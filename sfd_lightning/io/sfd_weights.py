"""SFD's networks' weights from their checkpoints: the frozen teacher's (``model.teacher_ckpt``) and the stage-1
start of two-stage SFD (``model.init_ckpt``)."""

import os
from typing import Any, Dict, Optional

from torch import nn

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.build import build
from sfd_lightning.io.checkpoint import read_any
from sfd_lightning.io.folder import is_generator_folder, read_folder
from sfd_lightning.io.source import Source
from sfd_lightning.io.strict import load_network, load_state_into

TEACHER_PREFIXES = ("denoiser_ema.module.", "denoiser.")


def load_teacher_weights(teacher: nn.Module, path: str) -> None:
    """``model.teacher_ckpt``: an asset, a DiffusionModule checkpoint (its EMA) or a reference DDPM checkpoint."""
    source = Source(path, "model.teacher_ckpt")
    load_network(teacher, read_any(source), source, "model.teacher", TEACHER_PREFIXES)


def names_pretrained(config: Any) -> bool:
    """Whether a class_path config names ``pretrained`` weights anywhere in it (an SD UNet's hub id or folder)."""
    if isinstance(config, dict):
        return bool(config.get("pretrained")) or any(names_pretrained(v) for v in config.values())
    return False


def run_teacher(config: Dict[str, Any], teacher_ckpt: Optional[str], source: Source, what_else: str) -> nn.Module:
    """A run's teacher: its architecture (``config``, allowed classes only) with the weights of ``teacher_ckpt``, or,
    without one, the pretrained weights the config names (Stable Diffusion's). ``--teacher`` errors; ``what_else``
    ends the one for a run that gives neither."""
    if teacher_ckpt and not os.path.exists(teacher_ckpt):
        raise ConfigError("--teacher", f"the teacher {teacher_ckpt!r} does not exist (give its path with --teacher)")
    if not teacher_ckpt and not names_pretrained(config):
        raise ConfigError(
            "--teacher",
            f"{source.path!r} records no teacher_ckpt; give the teacher's weights with --teacher{what_else}",
        )
    teacher = build(config, source)
    if teacher_ckpt:
        load_teacher_weights(teacher, teacher_ckpt)
    return teacher


def stage_one_has_fake_score(path: str) -> bool:
    """Whether ``model.init_ckpt`` sets the fake score too (a checkpoint file), or the generator only (a folder)."""
    return not os.path.isdir(path)


def load_stage_one(generator: nn.Module, fake_score: nn.Module, path: str, field: str = "model.init_ckpt") -> None:
    """The stage-1 EMA generator becomes the generator (the caller's EMA starts from it); the fake score carries on.

    ``path``: this project's SFD checkpoint or ``sfd`` asset, a reference SFD/SiD checkpoint, a folder
    written by ``sfd export``, or a folder holding a one-step generator in the network's own pretrained
    format (e.g. a distilled SD UNet in diffusers layout); a folder sets the generator only, the fake
    score stays the teacher (``fake_score`` is not touched).
    """
    source = Source(path, field)
    if is_generator_folder(path):  # sfd export's folder: the EMA generator only
        load_state_into(generator, read_folder(source)[1], source, "model.teacher (as the generator)")
    elif os.path.isdir(path):
        loader = getattr(generator.net, "load_generator_folder", None)
        if loader is None:
            raise source.error(
                f"{path!r} is a folder, but {type(generator.net).__name__} cannot load one; give a checkpoint file"
            )
        loader(path)
    else:
        ckpt = read_any(source)
        load_network(generator, ckpt, source, "model.teacher (as the generator)", ["generator_ema.module."])
        load_network(fake_score, ckpt, source, "model.teacher (as the fake score)", ["fake_score."], role="fake_score")
