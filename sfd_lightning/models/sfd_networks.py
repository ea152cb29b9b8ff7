"""SFD's networks: the fake score, the generator and its EMA (full copies of the teacher, or LoRA adapters on a
frozen base shared with it), held by one object that says what of them trains, is checkpointed and is exported
(:class:`FullNetworks`, :class:`LoRANetworks`); speed options and a fast switch between training and evaluation
mode (their weights come from ``io.sfd_weights``)."""

import copy
import weakref
from typing import Dict, List, Optional

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from sfd_lightning.io.sfd_weights import load_stage_one, stage_one_has_fake_score
from sfd_lightning.models.adapter_state import adapter_checkpoint, restore_adapter_checkpoint
from sfd_lightning.models.frozen import shared_copy
from sfd_lightning.models.lora import LoRA, is_adapter, merged_state_dict

# The networks' names in SFDModule, so in its checkpoints' and exports' keys (``fake_score.``, ``generator_ema.``).
NAMES = ("fake_score", "generator", "generator_ema")


def ema_of(net: nn.Module, decay: float) -> AveragedModel:
    """An exponential moving average of ``net`` that starts as an average of one copy (so the first update averages)."""
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True).requires_grad_(False)
    ema.n_averaged.fill_(1)
    return ema


class _Prebuilt:
    """What ``AveragedModel`` deep-copies into its ``module``: the copy made already (a shared-base copy)."""

    def __init__(self, module: nn.Module):
        self.module = module

    def __deepcopy__(self, memo) -> nn.Module:
        return self.module


class AdapterEMA(AveragedModel):
    """The EMA of a generator made of LoRA adapters on a frozen base: it shares the base and averages the adapters
    only (the base's tensors would be averaged with themselves); its state dict has ``AveragedModel``'s layout."""

    def __init__(self, net: nn.Module, decay: float):
        copied = shared_copy(net)  # the base's tensors shared, the adapters copied (they require gradients)
        super().__init__(_Prebuilt(copied), multi_avg_fn=get_ema_multi_avg_fn(decay))
        self.requires_grad_(False)
        self.n_averaged.fill_(1)

    def update_parameters(self, model: nn.Module) -> None:
        mine = [p.detach() for n, p in self.module.named_parameters() if is_adapter(n)]
        theirs = [p.detach() for n, p in model.named_parameters() if is_adapter(n)]
        if self.n_averaged == 0:
            torch._foreach_copy_(mine, theirs)
        else:
            self.multi_avg_fn(mine, theirs, self.n_averaged)
        self.n_averaged += 1


class SFDNetworks:
    """The fake score, the generator and the generator's EMA, and what of them the optimisers update
    (:meth:`trainable`), the Lightning checkpoint holds (:meth:`checkpoint_state`, :meth:`restore_checkpoint_state`)
    and a second SFD stage starts from (:meth:`export_state_dict`). SFDModule holds the three networks under
    :data:`NAMES`; the subclass, chosen by :func:`build_networks`, is full or LoRA fine-tuning."""

    def __init__(self, fake_score: nn.Module, generator: nn.Module, generator_ema: AveragedModel):
        self.fake_score, self.generator, self.generator_ema = fake_score, generator, generator_ema

    def state_dict(self) -> Dict[str, torch.Tensor]:
        """The three networks' weights under their names in SFDModule's state dict, in its order."""
        state: Dict[str, torch.Tensor] = {}
        for name in NAMES:
            getattr(self, name).state_dict(destination=state, prefix=name + ".")
        return state

    def trainable(self, net: nn.Module) -> List[nn.Parameter]:
        """The parameters of ``net`` (the fake score or the generator) its optimiser updates."""
        raise NotImplementedError

    def checkpoint_state(self, state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """SFDModule's ``state`` (the frozen networks already left out) as the Lightning checkpoint holds it."""
        raise NotImplementedError

    def restore_checkpoint_state(self, state: Dict[str, torch.Tensor]) -> None:
        """A checkpoint's ``state`` (:meth:`checkpoint_state`) made loadable into SFDModule, in place."""
        raise NotImplementedError

    def export_state_dict(self) -> Dict[str, torch.Tensor]:
        """The EMA generator and the fake score in the full networks' layout: what a second SFD stage starts from
        (``init_ckpt``)."""
        raise NotImplementedError


class FullNetworks(SFDNetworks):
    """Full fine-tuning (the reference): three copies of the teacher, every parameter trained and checkpointed."""

    def trainable(self, net: nn.Module) -> List[nn.Parameter]:
        return trainable_parameters(net, None)

    def checkpoint_state(self, state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return state

    def restore_checkpoint_state(self, state: Dict[str, torch.Tensor]) -> None:
        pass

    def export_state_dict(self) -> Dict[str, torch.Tensor]:
        state: Dict[str, torch.Tensor] = {}
        for name in ("fake_score", "generator_ema"):  # with the EMA's n_averaged, as SFDModule's state dict
            getattr(self, name).state_dict(destination=state, prefix=name + ".")
        return state


class LoRANetworks(SFDNetworks):
    """LoRA SFD: adapters on frozen bases shared with the teacher; only the adapters train, and the checkpoint holds
    them with the merged EMA generator (``models/adapter_state.py``), never the bases."""

    def trainable(self, net: nn.Module) -> List[nn.Parameter]:
        return [p for n, p in net.named_parameters() if is_adapter(n)]

    def checkpoint_state(self, state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return adapter_checkpoint(state, self.generator_ema.module)

    def restore_checkpoint_state(self, state: Dict[str, torch.Tensor]) -> None:
        restore_adapter_checkpoint(state, self.state_dict())

    def export_state_dict(self) -> Dict[str, torch.Tensor]:
        nets = {"generator_ema.module.": self.generator_ema.module, "fake_score.": self.fake_score}
        return {prefix + k: v for prefix, net in nets.items() for k, v in merged_state_dict(net).items()}


def build_networks(
    teacher: nn.Module,
    ema_decay: float,
    init_ckpt: Optional[str] = None,
    lora: Optional[LoRA] = None,
    field: str = "model.init_ckpt",
) -> SFDNetworks:
    """The fake score, the generator and the generator's EMA, from the (frozen) teacher: :class:`FullNetworks`, or
    :class:`LoRANetworks` with ``lora``.

    Full fine-tuning: three copies of the teacher. ``lora``: each is LoRA adapters on a frozen base that shares the
    teacher's tensors (no copy of a weight), so the three equal the teacher at the start. ``init_ckpt`` (two-stage
    SFD) starts the generator and its EMA from the stage-1 EMA generator and the fake score from the stage-1 fake
    score; with ``lora`` these become the two frozen bases (one copy each), the teacher keeping its own weights. A
    folder (a distilled one-step UNet, an ``sfd export``) sets the generator only: the fake score's base is then
    the teacher's own tensors. ``field`` names the setting ``init_ckpt`` came from in errors (``model.previous``
    for a sequential step).
    """
    copies_fake = lora is None or bool(init_ckpt) and stage_one_has_fake_score(init_ckpt)
    fake_score = copy.deepcopy(teacher) if copies_fake else teacher
    generator = copy.deepcopy(teacher) if lora is None or init_ckpt else teacher
    if init_ckpt:
        load_stage_one(generator, fake_score, init_ckpt, field)
    if lora is None:
        generator = generator.train().requires_grad_(True)
        return FullNetworks(fake_score.train().requires_grad_(True), generator, ema_of(generator, ema_decay))
    bases = {id(n): n for n in (teacher, fake_score, generator)}.values()
    fake_score, generator = (
        lora.adapt(shared_copy(net.requires_grad_(False))).train() for net in (fake_score, generator)
    )
    if lora.dtype is not None:  # after adapting: the adapters stay float32
        for net in bases:
            cast_parameters(net, lora.dtype)
    return LoRANetworks(fake_score, generator, AdapterEMA(generator, ema_decay))


def cast_parameters(net: nn.Module, dtype: torch.dtype) -> None:
    """``net``'s floating-point parameters in ``dtype``, in place (the same Parameter objects, so every network sharing
    them follows); buffers such as the noise schedule keep their precision."""
    for p in net.parameters():
        if p.is_floating_point():
            p.data = p.data.to(dtype)


def trainable_parameters(net: nn.Module, lora: Optional[LoRA]) -> List[nn.Parameter]:
    """The parameters an optimiser updates: every one, or the adapters' with LoRA (``SFDNetworks.trainable`` of a
    built module)."""
    return [p for n, p in net.named_parameters() if lora is None or is_adapter(n)]


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
