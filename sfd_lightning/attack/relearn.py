"""Relearning: does the forgotten concept come back when the released model is fine-tuned on a few examples of it
("Unstable Unlearning", Suriyakumar et al., 2024, arXiv 2410.08074; "Erased or Dormant?", 2025, arXiv 2505.16174)?
And *benign* relearning: the same fine-tuning on retained examples only, to see whether forgetting erodes by itself.

The attacker fine-tunes the attacked network with Adam for a budget of steps on K examples, every weight (``full``) or
rank-r LoRA adapters on its Linear and Conv2d layers (``lora``, the cheap fine-tuning most released models get), at
each learning rate of a grid, and the judges score fresh samples of the forget conditions after each budget. The
loss is each model's own, named in the table:

- a multi-step model (the teacher, a baseline's fine-tuned model, a retrained model): its denoising loss on the
  examples under their conditions (DDPM's epsilon loss, timesteps uniform over its schedule);
- the one-step generator, which has no denoising loss at its input: the embedding attack's distribution matching,
  MMD^2 between the surrogate's features of its samples for the examples' conditions and of the examples (what an
  attacker holding only the generator and the examples can run).

Retraining without the class (a DiffusionModule trained on the retained data, ``sfd attack --ckpt`` of its
checkpoint) is the control: how fast does a model that never knew the concept learn it?
"""

from contextlib import contextmanager, nullcontext
from typing import Callable, Dict, Iterator, Optional, Sequence

import torch
from torch import nn

from sfd_lightning.attack.embedding import bandwidths_of, mmd2
from sfd_lightning.attack.search_steps import check_finite, search_steps
from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.diffusion.schedule import training_noise
from sfd_lightning.losses import denoising_loss
from sfd_lightning.models.lora import lora_adapted

Loss = Callable[[torch.Generator], torch.Tensor]  # one step's loss, drawing its randomness from the generator


@contextmanager
def trainable(net: nn.Module) -> Iterator[nn.Module]:
    """``net`` with gradients, its weights and ``requires_grad`` flags restored on leaving: the attack fine-tunes the
    released network in place and hands it back unchanged."""
    saved = {k: v.detach().clone() for k, v in net.state_dict().items()}
    flags = [p.requires_grad for p in net.parameters()]
    net.requires_grad_(True)
    try:
        yield net
    finally:
        net.load_state_dict(saved)
        for p, flag in zip(net.parameters(), flags):
            p.requires_grad_(flag)


def denoising_objective(denoiser: nn.Module, examples: torch.Tensor, conditions: Condition) -> Loss:
    """A multi-step model's own loss on the examples (K, C, H, W) under their conditions."""
    return lambda g: denoising_loss(
        denoiser, examples, *training_noise(denoiser.schedule, examples, g), conditions
    ).mean()


def matching_objective(
    generate: Callable[[torch.Tensor, Condition], torch.Tensor],
    features: Callable,
    examples: torch.Tensor,
    conditions: Condition,
    shape: Sequence[int],
) -> Loss:
    """The one-step generator's: MMD^2 between the features of its samples (fresh noise each step) for the examples'
    conditions and the examples' features."""
    target = features(examples).detach()
    bandwidths = bandwidths_of(target)

    def loss(g: torch.Generator) -> torch.Tensor:
        z = torch.randn((len(examples), *shape), generator=g).to(examples)
        return mmd2(features(generate(z, conditions)), target, bandwidths)

    return loss


def relearn_curve(
    net: nn.Module,
    loss: Loss,
    evaluate: Callable[[], Dict[str, float]],
    milestones: Sequence[int],
    lr: float,
    seed: int,
    lora_rank: int = 0,
    desc: Optional[str] = None,
) -> Dict[int, Dict[str, float]]:
    """``evaluate()`` after each of ``milestones`` Adam steps on ``loss`` (0: the released model), over ``net``'s
    weights, or over rank-``lora_rank`` LoRA adapters when it is positive; ``net`` is restored afterwards. Raises
    ``Diverged`` (with the milestones reached) when the loss or, at a milestone, the weights go non-finite; ``desc``
    names the progress lines."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    with trainable(net), lora_adapted(net, lora_rank) if lora_rank else nullcontext(list(net.parameters())) as params:
        optimizer = torch.optim.Adam(params, lr=lr)
        if 0 in milestones:
            out[0] = evaluate()
        for step in search_steps(milestones, desc):
            value = loss(g)
            check_finite([value.detach()], step, out)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
            if step in milestones:
                check_finite(params, step, out)
                out[step] = evaluate()
    return out
