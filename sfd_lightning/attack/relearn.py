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
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import torch
from torch import nn

from sfd_lightning.attack.context import AttackContext
from sfd_lightning.attack.embedding import bandwidths_of, mmd2
from sfd_lightning.attack.options import LEARNING_RATE, MAX_LR, MAX_STEPS, POSITIVE, STEPS, Attack, Option, steps_label
from sfd_lightning.attack.rows import diverged_rows, progress, row, tuning
from sfd_lightning.attack.search_steps import check_finite, search_steps, until_diverged
from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.diffusion.schedule import training_noise
from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.protocol import rates
from sfd_lightning.losses import denoising_loss
from sfd_lightning.models.lora import lora_adapted
from sfd_lightning.pipelines.base import Pipeline

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


def relearn_objective(target: Pipeline, ctx: AttackContext, examples: torch.Tensor, conditions: Condition):
    """(loss, its name): a multi-step model's denoising loss, the one-step generator's feature matching."""
    if target.denoiser is not None:
        with torch.no_grad():
            x0 = examples if target.encode is None else target.encode(examples)  # latent models: the VAE's latents
        return denoising_objective(target.denoiser, x0, conditions), "denoising"
    return matching_objective(target.generate, ctx.surrogate.features, examples, conditions, target.shape), "mmd"


def fine_tuning_rows(
    attack: str, target: Pipeline, ctx: AttackContext, examples: torch.Tensor, conditions: Condition
) -> List[Dict[str, Any]]:
    """The judges' forget rate on fixed noise after each budget of fine-tuning the target on ``examples``: every
    weight or LoRA adapters, at each learning rate of the grid, each from the released model and the same seed."""
    s, forget_class = ctx.settings, torch.tensor(ctx.spec.forget_class)
    z, forget = ctx.noise(s.n, target.shape, offset=3), ctx.on_device(ctx.spec.forget_conditions(s.n))

    def judged() -> Dict[str, float]:
        with torch.no_grad():
            return rates(ctx.judges, target.generate(z, forget), forget_class)

    loss, name = relearn_objective(target, ctx, examples, ctx.on_device(conditions))
    released = {0: judged()} if 0 in s.relearn_steps else {}  # the same for every weights and rate: judged once
    later = [step for step in s.relearn_steps if step > 0]
    rows = []
    for weights in s.relearn_weights:
        rank = s.lora_rank if weights == "lora" else 0
        for lr in s.relearn_lr:
            tuned = dict(loss=name, lr=lr, weights=f"lora r{rank}" if rank else "full")
            curve, stop = until_diverged(
                lambda: relearn_curve(
                    target.net,
                    loss,
                    judged,
                    later,
                    lr,
                    s.seed + 3,
                    rank,
                    progress(attack, target, f" ({tuning(tuned)})"),
                )
            )
            curve = {**released, **curve}
            rows += [dict(row(attack, step, target, curve[step], None, s.n), **tuned) for step in sorted(curve)]
            rows += diverged_rows(attack, target, ctx, later, stop, "--relearn-lr", s.n, **tuned)
    return rows


def relearn_rows(target: Pipeline, ctx: AttackContext) -> List[Dict[str, Any]]:
    """Fine-tuning on the K examples of the forgotten concept, under the forget conditions."""
    if ctx.examples is None:
        raise ConfigError("--examples", "the relearning attack needs examples of the forgotten concept")
    k = min(ctx.settings.k_examples, len(ctx.examples))
    return fine_tuning_rows("relearn", target, ctx, ctx.examples[:k], ctx.spec.forget_conditions(k))


def benign_rows(target: Pipeline, ctx: AttackContext) -> List[Dict[str, Any]]:
    """Fine-tuning on K examples of the retained classes only, under their own conditions."""
    if ctx.retained_examples is None:
        raise ConfigError("--examples", "benign relearning needs examples of the retained classes")
    images, conditions = ctx.retained_examples
    return fine_tuning_rows("benign", target, ctx, images, conditions)


def tuned_label(row: Dict[str, Any]) -> str:
    """A fine-tuning budget: its steps, and the weights and learning rate tuned."""
    return f"{row['budget']} steps ({tuning(row)})" if tuning(row) else steps_label(row)


RELEARN = Attack(
    "relearn",
    relearn_rows,
    options=(
        Option(
            "relearn_steps",
            "steps",
            (0, 50, 200, 1000),
            f"relearning budgets: fine-tuning steps on the examples (each at most {MAX_STEPS:,})",
            STEPS,
            compare=True,
        ),
        Option(
            "relearn_lr",
            "floats",
            (1e-4,),
            "the relearning fine-tuning's Adam learning rates, comma-separated "
            "(a grid: each runs from the released model; tables give each, compare the worst case), each > 0, "
            f"at most {MAX_LR:g}",
            LEARNING_RATE,
            compare=True,
        ),
        Option(
            "relearn_weights",
            "names",
            ("full",),
            "what relearning fine-tunes, comma-separated: full (every "
            "weight), lora (LoRA adapters on every Linear and Conv2d layer)",
            choices=("full", "lora"),
            compare=True,
        ),
        Option("lora_rank", "int", 4, "rank of the LoRA adapters of --relearn-weights lora", POSITIVE, compare=True),
    ),
    needs=frozenset({"examples"}),
    axis="relearning: fine-tuning steps on the concept's examples",
    label=tuned_label,
    column="relearn{lora} {budget} steps",
    compare_when="relearn_steps",
)
BENIGN = Attack(  # relearning's options, on the retained classes' examples
    "benign",
    benign_rows,
    needs=frozenset({"retained"}),
    axis="benign fine-tuning: steps on retained examples",
    label=tuned_label,
    column="benign{lora} {budget} steps",
    compare_when="relearn_steps",
)
