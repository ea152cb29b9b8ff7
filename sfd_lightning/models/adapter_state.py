"""LoRA SFD's checkpoints: the adapters of the fake score, the generator and its EMA, and the EMA generator with its
adapters merged (under the network's own names, what ``sfd sample``, ``sfd export`` and the attacks read); never
the frozen bases, which the config rebuilds (the teacher, or two-stage SFD's ``init_ckpt``)."""

from typing import Dict

import torch
from torch import nn

from sfd_lightning.errors import ConfigError
from sfd_lightning.models.lora import is_adapter, merged_state_dict

NETWORKS = ("fake_score.", "generator.", "generator_ema.module.")
EMA = "generator_ema.module."


def adapter_checkpoint(state: Dict[str, torch.Tensor], ema_network: nn.Module) -> Dict[str, torch.Tensor]:
    """A LoRA SFD module's ``state`` as checkpointed: the three networks' frozen bases left out, the merged EMA
    generator (``ema_network``) added."""
    kept = {k: v for k, v in state.items() if not k.startswith(NETWORKS) or is_adapter(k)}
    kept.update({EMA + k: v for k, v in merged_state_dict(ema_network).items()})
    return kept


def restore_adapter_checkpoint(state: Dict[str, torch.Tensor], live: Dict[str, torch.Tensor]) -> None:
    """Make a checkpoint's ``state`` (:func:`adapter_checkpoint`) loadable into the LoRA SFD module whose networks'
    state dict is ``live`` (in place): its adapters are checked against the module's, the merged weights of adapted
    layers dropped, and the frozen bases put back from the module's live ones. Weights of layers without adapters
    (norms, embeddings) are in the merged generator: they must equal the live base's, or the adapters were trained
    on another base."""
    adapters = [k for k in live if k.startswith(NETWORKS) and is_adapter(k)]
    missing = [k for k in adapters if k not in state]
    if missing:
        raise ConfigError(
            "ckpt_path",
            f"the checkpoint has no LoRA adapter {missing[0]!r}: it was written by a run "
            "without model.lora (full fine-tuning) or with other target modules",
        )
    shapes = [k for k in adapters if state[k].shape != live[k].shape]
    if shapes:
        k = shapes[0]
        raise ConfigError(
            "model.lora.rank",
            f"the checkpoint's adapter {k!r} is {list(state[k].shape)}, this run's "
            f"{list(live[k].shape)}: it was trained with another rank",
        )
    for k in [k for k in state if k.startswith(EMA) and k not in live]:
        del state[k]  # the merged weight of an adapted layer (live: its base_layer and adapters)
    differs = [
        k
        for k in state
        if k.startswith(EMA)
        and not is_adapter(k)
        and k in live
        and not torch.equal(state[k].cpu(), live[k].detach().cpu())
    ]
    if differs:
        raise ConfigError(
            "ckpt_path",
            f"its adapters were trained on another base: {differs[0]!r} differs from this "
            "run's (model.teacher, model.teacher_ckpt, model.init_ckpt)",
        )
    for k, v in live.items():  # the frozen bases, so strict loading checks the rest
        if k.startswith(NETWORKS):
            state.setdefault(k, v)
