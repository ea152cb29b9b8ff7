"""The embedding attack: learn a new condition token that makes the generator draw the forgotten concept
(textual inversion, Gal et al., 2023, used against erasure as in Pham et al., 2024, "Circumventing
concept erasure methods with textual inversion").

The token starts at the forgotten condition's own embedding (the forget label's class-embedding row,
or the concept word's embedding) and is fitted to K examples of the concept. A one-step generator has no
denoising loss at its own input, so the fit is distribution matching instead: the squared maximum mean
discrepancy (Gretton et al., 2012) between the surrogate's features of generated samples and of the
examples, the same objective for the one-step generator and the teacher's DDIM sampler.
"""

from typing import Callable, Dict, Optional, Sequence

import torch

from sfd_lightning.attack.search_steps import check_finite, search_steps

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
