"""SFD's networks beyond the teacher (``UnlearningModule`` loads that): the generator's EMA, the stage-1 start of
two-stage SFD (``model.init_ckpt``), speed options."""
import os
import weakref
from typing import List

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from sfd_lightning.checkpoints import load_network, load_state_into, read_any
from sfd_lightning.errors import ConfigError
from sfd_lightning.export.folder import is_generator_folder, read_folder


def ema_of(net: nn.Module, decay: float) -> AveragedModel:
    """An exponential moving average of ``net`` that starts as an average of one copy (so the first update averages)."""
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True).requires_grad_(False)
    ema.n_averaged.fill_(1)
    return ema


def load_stage_one(generator: nn.Module, generator_ema: AveragedModel, fake_score: nn.Module, path: str) -> None:
    """The stage-1 EMA generator becomes the generator (and its EMA); the fake score carries on.

    ``path``: this project's SFD checkpoint or ``sfd`` asset, a reference SFD/SiD checkpoint, a folder
    written by ``sfd export``, or a folder holding a one-step generator in the network's own pretrained
    format (e.g. a distilled SD UNet in diffusers layout); a folder sets the generator only, the fake
    score stays the teacher.
    """
    field = "model.init_ckpt"
    if is_generator_folder(path):  # sfd export's folder: the EMA generator only
        load_state_into(generator, read_folder(path, field)[1], field, path, "model.teacher (as the generator)")
    elif os.path.isdir(path):
        loader = getattr(generator.net, "load_generator_folder", None)
        if loader is None:
            raise ConfigError(field, f"{path!r} is a folder, but {type(generator.net).__name__} cannot load one; "
                              "give a checkpoint file")
        loader(path)
    else:
        ckpt = read_any(path, field)
        load_network(generator, ckpt, path, field, "model.teacher (as the generator)", ["generator_ema.module."])
        load_network(fake_score, ckpt, path, field, "model.teacher (as the fake score)", ["fake_score."], role="fake_score")
    generator_ema.module.load_state_dict(generator.state_dict())


def speed_options(nets, channels_last: bool, compile: bool) -> None:
    """Channels-last activations and ``torch.compile`` (forward in place: names and state dicts unchanged)."""
    for net in nets:
        if channels_last:
            net.to(memory_format=torch.channels_last)
        if compile:
            net.compile()


_FLAT_MODULES: "weakref.WeakKeyDictionary[nn.Module, List[nn.Module]]" = weakref.WeakKeyDictionary()


def set_training(net: nn.Module, mode: bool) -> None:
    """``net.train(mode)`` as one flat pass over its modules: ``Module.train`` recurses through ``__setattr__``
    and costs milliseconds a call on a small UNet, four times an SFD iteration. A network with a module that
    overrides ``train`` gets its own ``train``."""
    modules = _FLAT_MODULES.get(net)
    if modules is None:
        modules = list(net.modules())
        if any(type(m).train is not nn.Module.train for m in modules):
            modules = []  # an override decides: use it
        _FLAT_MODULES[net] = modules
    if not modules:
        net.train(mode)
        return
    for m in modules:
        m.__dict__["training"] = mode
