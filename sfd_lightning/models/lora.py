"""LoRA adapters (Hu et al., 2021) on a network's Linear and Conv2d layers, through peft: ``W + (alpha / r) B A``
with ``B`` zero at the start, so an adapted network first computes exactly what it did.

Two uses: LoRA SFD (:class:`LoRA`, ``model.lora``: the fake score and the generator as adapters on a frozen base
shared with the teacher) and the relearning attack's ``lora`` mode (:func:`lora_adapted`, the fine-tuning attackers
run on released diffusion models)."""

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional

import torch
from torch import nn

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.checkpoint import is_adapter_key as is_adapter

ADAPTED = (nn.Linear, nn.Conv2d)
BASE_KEY = ".base_layer."  # peft's name for the adapted layer it wraps


def lora_targets(net: nn.Module) -> List[str]:
    """Names of the Linear and Conv2d layers LoRA adapts: every one the network calls itself (not the projections
    ``nn.MultiheadAttention`` reads as bare weights)."""
    inside_mha = {
        f"{name}.{child}" if name else child
        for name, m in net.named_modules()
        if isinstance(m, nn.MultiheadAttention)
        for child, _ in m.named_children()
    }
    return [name for name, m in net.named_modules() if type(m) in ADAPTED and name not in inside_mha]


def _matches(name: str, target: str) -> bool:
    """peft's rule for a target name in a list: the whole layer name, or its last dotted parts."""
    return name == target or name.endswith("." + target)


@dataclass(frozen=True)
class LoRA:
    """LoRA SFD: the fake score and the generator as LoRA adapters on one frozen copy of the teacher's weights (the
    teacher is that base without adapters); only the adapters train, and checkpoints hold the adapters.

    Args:
        rank: the adapters' rank r (>= 1); 16 kept FID within 10% of full fine-tuning on the digits demos
            (docs/lora.md).
        alpha: their scale is alpha / r; null: alpha = r (scale 1).
        target_modules: the Linear and Conv2d layers to adapt, by name or last dotted parts of the name (peft's
            rule: ``[to_q, to_k, to_v, to_out.0]`` adapts Stable Diffusion's attention projections); null: every
            Linear and Conv2d layer the network calls.
        base_dtype: store the frozen base (and so the teacher) in ``bfloat16`` or ``float16``, half the memory of
            float32; run with ``trainer.precision: bf16-mixed`` (or 16-mixed) so every layer computes in it. The
            adapters, their optimiser states and the schedules stay float32. null: the teacher's own dtype.
    """

    rank: int = 16
    alpha: Optional[float] = None
    target_modules: Optional[List[str]] = None
    base_dtype: Optional[str] = None

    @property
    def dtype(self) -> Optional[torch.dtype]:
        """The frozen base's dtype (None: keep the teacher's)."""
        return None if self.base_dtype is None else getattr(torch, self.base_dtype)

    def targets(self, net: nn.Module, field: str = "model.lora") -> List[str]:
        """The full names of the layers this adapts in ``net``; a ConfigError names the field that is wrong."""
        if not isinstance(self.rank, int) or self.rank < 1:
            raise ConfigError(f"{field}.rank", f"must be an integer >= 1, got {self.rank!r}")
        if self.alpha is not None and not self.alpha > 0:
            raise ConfigError(f"{field}.alpha", f"must be > 0 (or null for alpha = rank), got {self.alpha!r}")
        if self.base_dtype not in (None, "bfloat16", "float16", "float32"):
            raise ConfigError(
                f"{field}.base_dtype", f"must be bfloat16, float16, float32 or null, got {self.base_dtype!r}"
            )
        layers = lora_targets(net)
        if self.target_modules is None:
            chosen = layers
        else:
            if not self.target_modules:
                raise ConfigError(
                    f"{field}.target_modules", "is empty; give layer names, or null for every Linear and Conv2d layer"
                )
            for target in self.target_modules:
                if not any(_matches(name, target) for name in layers):
                    raise ConfigError(
                        f"{field}.target_modules",
                        f"{target!r} matches no Linear or Conv2d layer of "
                        f"{type(net).__name__}; its layers are e.g. {layers[:4]}",
                    )
            chosen = [name for name in layers if any(_matches(name, t) for t in self.target_modules)]
        if not chosen:
            raise ConfigError(field, f"{type(net).__name__} has no Linear or Conv2d layer for LoRA")
        return chosen

    def adapt(self, net: nn.Module, field: str = "model.lora") -> nn.Module:
        """``net`` with an adapter on each target layer (in place); only the adapters require gradients."""
        from peft import LoraConfig, inject_adapter_in_model

        config = LoraConfig(
            r=self.rank,
            lora_alpha=self.alpha if self.alpha is not None else self.rank,
            target_modules=self.targets(net, field),
            lora_dropout=0.0,
        )
        return inject_adapter_in_model(config, net)


FULL_PRECISION = ("None", "32", "32-true", "64", "64-true")  # trainer.precision values that compute in float32/64


def check_base_precision(model_config: Mapping[str, Any], precision: Any) -> None:
    """Refuse a half-precision LoRA base (``model.lora.base_dtype``) under a full ``trainer.precision``, before anything
    is built: without autocast the float32 activations meet the base's bfloat16/float16 weights in the first layer."""
    lora = (model_config.get("init_args") or {}).get("lora")
    base_dtype = lora.get("base_dtype") if isinstance(lora, Mapping) else None
    if base_dtype in ("bfloat16", "float16") and str(precision) in FULL_PRECISION:
        raise ConfigError(
            "model.lora.base_dtype",
            f"{base_dtype} computes only under trainer.precision bf16-mixed or "
            f"16-mixed, got trainer.precision={precision}: add "
            "--trainer.precision=bf16-mixed, or keep the base in float32 "
            "(base_dtype null)",
        )


def merged_state_dict(net: nn.Module) -> Dict[str, torch.Tensor]:
    """``net``'s weights with every adapter merged in, under the names of the network without adapters (what
    ``sfd sample``, ``sfd export`` and a second SFD stage read); ``net`` itself is left as it is."""
    from peft.tuners.lora import LoraLayer

    state = {k.replace(BASE_KEY, "."): v for k, v in net.state_dict().items() if not is_adapter(k)}
    with torch.no_grad():
        for name, module in net.named_modules():
            if isinstance(module, LoraLayer):
                weight = module.get_base_layer().weight
                delta = sum(module.get_delta_weight(a) for a in module.active_adapters)
                state[f"{name}.weight"] = (weight + delta.to(weight.dtype)).detach()
    return state


def remove_adapters(net: nn.Module) -> None:
    """Put every adapted layer of ``net`` back in place of its LoRA wrapper (in place, adapters dropped, not merged)."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    for name, module in [(n, m) for n, m in net.named_modules() if isinstance(m, BaseTunerLayer)]:
        parent, _, child = name.rpartition(".")
        setattr(net.get_submodule(parent), child, module.get_base_layer())
    net.__dict__.pop("peft_config", None)  # what peft's injection records on the network


@contextmanager
def lora_adapted(net: nn.Module, rank: int) -> Iterator[List[nn.Parameter]]:
    """``net`` with rank-``rank`` LoRA adapters on its Linear and Conv2d layers (alpha = rank); yields the adapters'
    parameters, the only ones with gradients. On leaving, the adapters are removed (not merged) and every
    parameter's ``requires_grad`` restored: ``net`` computes what it did before."""
    flags = [(p, p.requires_grad) for p in net.parameters()]
    LoRA(rank=rank, alpha=rank).adapt(net, field="lora_rank")
    try:
        yield [p for n, p in net.named_parameters() if is_adapter(n)]
    finally:
        remove_adapters(net)
        for p, flag in flags:
            p.requires_grad_(flag)
