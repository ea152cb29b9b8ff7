"""LoRA adapters (Hu et al., 2021) on a network's Linear and Conv2d layers, through peft: ``W + (alpha / r) B A``
with ``B`` zero at the start, so an adapted network first computes exactly what it did. Used by the relearning
attack's ``lora`` mode (the fine-tuning attackers run on released diffusion models)."""
import re
from contextlib import contextmanager
from typing import Iterator, List

from torch import nn

ADAPTED = (nn.Linear, nn.Conv2d)


def lora_targets(net: nn.Module) -> List[str]:
    """Names of the Linear and Conv2d layers LoRA adapts: every one the network calls itself (not the projections
    ``nn.MultiheadAttention`` reads as bare weights)."""
    inside_mha = {f"{name}.{child}" if name else child for name, m in net.named_modules()
                  if isinstance(m, nn.MultiheadAttention) for child, _ in m.named_children()}
    return [name for name, m in net.named_modules() if type(m) in ADAPTED and name not in inside_mha]


@contextmanager
def lora_adapted(net: nn.Module, rank: int) -> Iterator[List[nn.Parameter]]:
    """``net`` with rank-``rank`` LoRA adapters on its Linear and Conv2d layers (alpha = rank); yields the adapters'
    parameters, the only ones with gradients. On leaving, the adapters are removed (not merged) and every
    parameter's ``requires_grad`` restored: ``net`` computes what it did before."""
    from peft import LoraConfig, get_peft_model

    names = lora_targets(net)
    if not names:
        raise ValueError(f"{type(net).__name__} has no Linear or Conv2d layer for LoRA")
    flags = [(p, p.requires_grad) for p in net.parameters()]
    pattern = "^(" + "|".join(re.escape(n) for n in names) + ")$"
    model = get_peft_model(net, LoraConfig(r=rank, lora_alpha=rank, target_modules=pattern, lora_dropout=0.0))
    try:
        yield [p for n, p in net.named_parameters() if "lora_" in n]
    finally:
        model.unload()
        for p, flag in flags:
            p.requires_grad_(flag)
