"""Adversarial prompts: a few real words appended to each forget prompt, chosen so that the surrogate sees the
forgotten concept again (UnlearnDiffAtk, Zhang et al., 2024, attacks erased diffusion models with adversarial
prompt tokens; its own search needs a multi-step model's denoising loss, which a one-step generator lacks).

The search is PEZ's ("Hard Prompts Made Easy", Wen et al., 2023), the same for every target: ``m`` continuous word
embeddings are optimised by Adam, but every forward pass uses their projection onto the nearest real words of the
text encoder's vocabulary (cosine similarity), and the gradient taken at the projection updates the continuous
ones. The prompt kept after each budget is the projection, decoded to text: a prompt anyone could type, judged by
generating from that text through the normal prompt path.
"""
from typing import Callable, Dict, Sequence

import torch
import torch.nn.functional as F

Render = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (z (B, ...), words (m, D)) -> images


def nearest_words(embeddings: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Rows (m,) of ``table`` (V, D) nearest to each of ``embeddings`` (m, D) by cosine similarity."""
    return (F.normalize(embeddings, dim=-1) @ F.normalize(table, dim=-1).T).argmax(dim=-1)


def pez_search(render: Render, table: torch.Tensor, objective: Callable[[torch.Tensor], torch.Tensor], m: int,
               milestones: Sequence[int], shape: Sequence[int], batch: int, lr: float,
               generator: torch.Generator) -> Dict[int, torch.Tensor]:
    """The word rows (m,) after each of ``milestones`` steps, minimising ``objective(images)`` (a scalar) of images
    rendered from the projected words; starts from ``m`` random real words (step 0)."""
    table = table.detach()
    start = torch.randint(0, len(table), (m,), generator=generator).to(table.device)
    soft = table[start].clone().requires_grad_(True)
    optimizer = torch.optim.Adam([soft], lr=lr)
    out = {0: start.clone()} if 0 in milestones else {}
    for step in range(1, max(milestones, default=0) + 1):
        hard = table[nearest_words(soft.detach(), table)]
        projected = hard + (soft - soft.detach())  # forward at the real words, gradient to the continuous ones
        z = torch.randn((batch, *shape), generator=generator).to(table)
        loss = objective(render(z, projected))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step in milestones:
            out[step] = nearest_words(soft.detach(), table)
    return out
