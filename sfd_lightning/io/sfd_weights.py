"""SFD's networks' weights from their checkpoints: the frozen teacher's (``model.teacher_ckpt``) and the stage-1
start of two-stage SFD (``model.init_ckpt``)."""
import os

from torch import nn
from torch.optim.swa_utils import AveragedModel

from sfd_lightning.io.checkpoint import read_any
from sfd_lightning.io.folder import is_generator_folder, read_folder
from sfd_lightning.io.source import Source
from sfd_lightning.io.strict import load_network, load_state_into

TEACHER_PREFIXES = ("denoiser_ema.module.", "denoiser.")


def load_teacher_weights(teacher: nn.Module, path: str) -> None:
    """``model.teacher_ckpt``: an asset, a DiffusionModule checkpoint (its EMA) or a reference DDPM checkpoint."""
    source = Source(path, "model.teacher_ckpt")
    load_network(teacher, read_any(source), source, "model.teacher", TEACHER_PREFIXES)


def load_stage_one(generator: nn.Module, generator_ema: AveragedModel, fake_score: nn.Module, path: str) -> None:
    """The stage-1 EMA generator becomes the generator (and its EMA); the fake score carries on.

    ``path``: this project's SFD checkpoint or ``sfd`` asset, a reference SFD/SiD checkpoint, a folder
    written by ``sfd export``, or a folder holding a one-step generator in the network's own pretrained
    format (e.g. a distilled SD UNet in diffusers layout); a folder sets the generator only, the fake
    score stays the teacher.
    """
    source = Source(path, "model.init_ckpt")
    if is_generator_folder(path):  # sfd export's folder: the EMA generator only
        load_state_into(generator, read_folder(source)[1], source, "model.teacher (as the generator)")
    elif os.path.isdir(path):
        loader = getattr(generator.net, "load_generator_folder", None)
        if loader is None:
            raise source.error(f"{path!r} is a folder, but {type(generator.net).__name__} cannot load one; "
                               "give a checkpoint file")
        loader(path)
    else:
        ckpt = read_any(source)
        load_network(generator, ckpt, source, "model.teacher (as the generator)", ["generator_ema.module."])
        load_network(fake_score, ckpt, source, "model.teacher (as the fake score)", ["fake_score."], role="fake_score")
    generator_ema.module.load_state_dict(generator.state_dict())
