"""The embedding attack: learn a new condition token that makes the generator draw the forgotten concept
(textual inversion, Gal et al., 2023, used against erasure as in Pham et al., 2024, "Circumventing
concept erasure methods with textual inversion").

The token starts at the forgotten condition's own embedding (the forget label's class-embedding row,
or the concept word's embedding) and is fitted to K examples of the concept. A one-step generator has no
denoising loss at its own input, so the fit is distribution matching instead: the squared maximum mean
discrepancy (Gretton et al., 2012) between the surrogate's features of generated samples and of the
examples, the same objective for the one-step generator and the teacher's DDIM sampler.
"""

from typing import Any, Callable, Dict, List, Optional, Sequence

import torch

from sfd_lightning.attack.context import AttackContext
from sfd_lightning.attack.forget_spec import repeated
from sfd_lightning.attack.options import LEARNING_RATE, MAX_STEPS, POSITIVE, STEPS, Attack, Option
from sfd_lightning.attack.rows import diverged_rows, progress, row
from sfd_lightning.attack.search_steps import check_finite, search_steps, until_diverged
from sfd_lightning.diffusion.conditions import ConditionTokens
from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.protocol import rates
from sfd_lightning.pipelines.base import Pipeline

Render = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (z (B, ...), token (D,)) -> images (B, ...)


def mmd2(x: torch.Tensor, y: torch.Tensor, bandwidths: Sequence[float]) -> torch.Tensor:
    """Biased squared MMD between samples ``x`` (N, F) and ``y`` (M, F) under a sum of Gaussian kernels."""
    xy = torch.cat([x, y])
    d2 = torch.cdist(xy, xy).pow(2)
    k = sum(torch.exp(-d2 / (2 * b * b)) for b in bandwidths)
    n = x.shape[0]
    return k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()


def bandwidths_of(features: torch.Tensor) -> Sequence[float]:
    """Half, one and two times the median pairwise distance of the examples' features."""
    d = torch.cdist(features, features)
    median = d[d > 0].median().item() if (d > 0).any() else 1.0
    return (0.5 * median, median, 2.0 * median)


def invert_token(
    render: Render,
    init: torch.Tensor,
    example_features: torch.Tensor,
    features: Callable[[torch.Tensor], torch.Tensor],
    shape: Sequence[int],
    milestones: Sequence[int],
    batch: int = 64,
    lr: float = 0.05,
    generator: torch.Generator = None,
    desc: Optional[str] = None,
) -> Dict[int, torch.Tensor]:
    """The token after each of ``milestones`` Adam steps on MMD^2(features(render(z, token)), examples);
    fresh noise each step. Step 0 is ``init`` itself. Raises ``Diverged`` (with the milestones reached) when the
    token goes non-finite; ``desc`` names the progress lines."""
    generator = generator or torch.Generator().manual_seed(0)
    bandwidths = bandwidths_of(example_features)
    token = init.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([token], lr=lr)
    out = {0: init.detach().clone()} if 0 in milestones else {}
    for step in search_steps(milestones, desc):
        z = torch.randn((batch, *shape), generator=generator).to(init)
        loss = mmd2(features(render(z, token)), example_features, bandwidths)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        check_finite([token], step, out)
        if step in milestones:
            out[step] = token.detach().clone()
    return out


def token_renderer(target: Pipeline, ctx: AttackContext):
    """``render(z, token)``: the target's images for a learned condition token (and the prompt context)."""
    if not hasattr(target.net, "condition_token"):
        raise ConfigError(
            "--attack",
            f"the embedding attack needs a network with condition tokens (DDPMUNet, TextUNet); "
            f"{type(target.net).__name__} has none",
        )
    context = ctx.spec.context

    def render(z: torch.Tensor, token: torch.Tensor) -> torch.Tensor:
        b = z.shape[0]
        return target.generate(
            z, ConditionTokens(token.expand(b, -1), None if context is None else repeated(context, b))
        )

    return render, target.net.condition_token(ctx.spec.token).to(ctx.device)


def embedding_rows(target: Pipeline, ctx: AttackContext) -> List[Dict[str, Any]]:
    s = ctx.settings
    if ctx.examples is None:
        raise ConfigError("--examples", "the embedding attack needs examples of the forgotten concept")
    render, init = token_renderer(target, ctx)
    examples = ctx.surrogate.features(ctx.examples[: s.k_examples].to(ctx.device)).detach()
    tokens, stop = until_diverged(
        lambda: invert_token(
            render,
            init,
            examples,
            ctx.surrogate.features,
            target.shape,
            s.embedding_steps,
            s.embedding_batch,
            s.embedding_lr,
            torch.Generator().manual_seed(s.seed + 2),
            progress("embedding", target),
        )
    )
    z = ctx.noise(s.n, target.shape, offset=1)
    forget_class = torch.tensor(ctx.spec.forget_class)
    rows = []
    for step in sorted(tokens):
        with torch.no_grad():
            images = render(z, tokens[step])
        rows.append(row("embedding", step, target, rates(ctx.judges, images, forget_class), None, s.n))
    return rows + diverged_rows("embedding", target, ctx, s.embedding_steps, stop, "--embedding-lr", s.n)


EMBEDDING = Attack(
    "embedding",
    embedding_rows,
    options=(
        Option(
            "embedding_steps",
            "steps",
            (0, 25, 100, 200),
            f"embedding attack budgets: optimiser steps (each at most {MAX_STEPS:,})",
            STEPS,
            compare=True,
        ),
        Option("k_examples", "int", 16, "examples the embedding and relearning attacks fit (<= 16)", (1, 16, False)),
        Option("embedding_lr", "float", 0.05, None, LEARNING_RATE),  # AttackCallback's settings only
        Option("embedding_batch", "int", 32, None, POSITIVE),  # samples a step (the prompt attack's too)
    ),
    needs=frozenset({"examples"}),
    axis="embedding attack: optimiser steps",
    column="embedding {budget} steps",
)
