"""Adversarial prompts: a few real words appended to each forget prompt, chosen so that the surrogate sees the
forgotten concept again (UnlearnDiffAtk, Zhang et al., 2024, attacks erased diffusion models with adversarial
prompt tokens; its own search needs a multi-step model's denoising loss, which a one-step generator lacks).

The search is PEZ's ("Hard Prompts Made Easy", Wen et al., 2023), the same for every target: ``m`` continuous word
embeddings are optimised by Adam, but every forward pass uses their projection onto the nearest real words of the
text encoder's vocabulary (cosine similarity), and the gradient taken at the projection updates the continuous
ones. The prompt kept after each budget is the projection, decoded to text: a prompt anyone could type, judged by
generating from that text through the normal prompt path.
"""

from typing import Callable, Dict, Optional, Sequence

import torch
import torch.nn.functional as F

from sfd_lightning.attack.search_steps import check_finite, search_steps

Render = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (z (B, ...), words (m, D)) -> images
# The token window of a text encoder without one of its own (a bag of words reads, and averages, any number of words):
# CLIP's 77 tokens less its start and end tokens, the longest prompt the other text encoders here read.
MAX_PROMPT_TOKENS = 75


def prompt_room(net: torch.nn.Module, prompts: Sequence[str]) -> int:
    """How many words the text encoder of ``net`` reads after the longest of ``prompts``: its token window (its
    tokenizer's ``model_max_length`` less the start and end tokens; else ``MAX_PROMPT_TOKENS``) less that prompt's own
    tokens. Words past it would be cut off (CLIP) or judged from text the encoder never reads whole."""
    text = net.text
    tokenizer = getattr(text, "tokenizer", None)
    if tokenizer is None:
        window, own = MAX_PROMPT_TOKENS, max(len(text.token_ids(p)) for p in prompts)
    else:
        window = tokenizer.model_max_length - 2
        own = max(len(tokenizer(p, add_special_tokens=False).input_ids) for p in prompts)
    return max(window - own, 0)


def nearest_words(embeddings: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Rows (m,) of ``table`` (V, D) nearest to each of ``embeddings`` (m, D) by cosine similarity."""
    return (F.normalize(embeddings, dim=-1) @ F.normalize(table, dim=-1).T).argmax(dim=-1)


def pez_search(
    render: Render,
    table: torch.Tensor,
    objective: Callable[[torch.Tensor], torch.Tensor],
    m: int,
    milestones: Sequence[int],
    shape: Sequence[int],
    batch: int,
    lr: float,
    generator: torch.Generator,
    desc: Optional[str] = None,
) -> Dict[int, torch.Tensor]:
    """The word rows (m,) after each of ``milestones`` steps, minimising ``objective(images)`` (a scalar) of images
    rendered from the projected words; starts from ``m`` random real words (step 0). Raises ``Diverged`` (with the
    milestones reached) when the continuous embeddings go non-finite; ``desc`` names the progress lines."""
    table = table.detach()
    start = torch.randint(0, len(table), (m,), generator=generator).to(table.device)
    soft = table[start].clone().requires_grad_(True)
    optimizer = torch.optim.Adam([soft], lr=lr)
    out = {0: start.clone()} if 0 in milestones else {}
    for step in search_steps(milestones, desc):
        hard = table[nearest_words(soft.detach(), table)]
        projected = hard + (soft - soft.detach())  # forward at the real words, gradient to the continuous ones
        z = torch.randn((batch, *shape), generator=generator).to(table)
        loss = objective(render(z, projected))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        check_finite([soft], step, out)  # NaN rows would all project onto word 0: a search that never ran
        if step in milestones:
            out[step] = nearest_words(soft.detach(), table)
    return out
