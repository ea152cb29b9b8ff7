"""SFD's networks: the generator's EMA, speed options and a fast switch between training and evaluation mode
(their weights come from ``io.sfd_weights``)."""
import weakref
from typing import List

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def ema_of(net: nn.Module, decay: float) -> AveragedModel:
    """An exponential moving average of ``net`` that starts as an average of one copy (so the first update averages)."""
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True).requires_grad_(False)
    ema.n_averaged.fill_(1)
    return ema


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
