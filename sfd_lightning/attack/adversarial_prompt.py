"""Adversarial prompts: a few real words appended to each forget prompt, chosen so that the surrogate sees the
forgotten concept again (UnlearnDiffAtk, Zhang et al., 2024, attacks erased diffusion models with adversarial
prompt tokens; its own search needs a multi-step model's denoising loss, which a one-step generator lacks).

The search is PEZ's ("Hard Prompts Made Easy", Wen et al., 2023), the same for every target: ``m`` continuous word
embeddings are optimised by Adam, but every forward pass uses their projection onto the nearest real words of the
text encoder's vocabulary (cosine similarity), and the gradient taken at the projection updates the continuous
ones. The prompt kept after each budget is the projection, decoded to text: a prompt anyone could type, judged by
generating from that text through the normal prompt path.
"""

from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F

from sfd_lightning.attack.context import AttackContext
from sfd_lightning.attack.forget_spec import ForgetSpec, repeated
from sfd_lightning.attack.options import LEARNING_RATE, MAX_LR, MAX_STEPS, POSITIVE, STEPS, Attack, Option
from sfd_lightning.attack.rows import diverged_rows, progress, row
from sfd_lightning.attack.search_steps import check_finite, search_steps, until_diverged
from sfd_lightning.diffusion.conditions import ConditionTokens
from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.protocol import rates
from sfd_lightning.pipelines.base import Pipeline

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


def adversarial_prompt_rows(target: Pipeline, ctx: AttackContext) -> List[Dict[str, Any]]:
    """Budget: PEZ steps; each row's ``prompt`` is the words found, appended to every forget prompt and judged from
    that text."""
    s, net = ctx.settings, target.net
    if ctx.spec.context is None or not hasattr(net, "vocabulary_table"):
        raise ConfigError(
            "--attack",
            "adversarial prompts attack prompt-conditional runs whose text encoder has a vocabulary "
            f"(SDUNet, TextUNet); {type(net).__name__} has none",
        )
    forget, cls = ctx.spec.forget, ctx.spec.forget_class

    def render(z: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        b = z.shape[0]
        return target.generate(z, ConditionTokens(words.expand(b, -1, -1), repeated(forget, b)))

    found, stop = until_diverged(
        lambda: pez_search(
            render,
            net.vocabulary_table().to(ctx.device),
            lambda x: -ctx.surrogate.log_prob(x, cls).mean(),
            s.prompt_words,
            s.prompt_steps,
            target.shape,
            s.embedding_batch,
            s.prompt_lr,
            torch.Generator().manual_seed(s.seed + 4),
            progress("prompt", target),
        )
    )
    z, rows = ctx.noise(s.n, target.shape, offset=4), []
    for step in sorted(found):
        words = net.token_text(found[step].tolist())
        prompts = [f"{p} {words}" for p in repeated(forget, s.n)]
        with torch.no_grad():
            images = target.generate(z, prompts)
        rows.append(
            dict(row("prompt", step, target, rates(ctx.judges, images, torch.tensor(cls)), None, s.n), prompt=words)
        )
    return rows + diverged_rows("prompt", target, ctx, s.prompt_steps, stop, "--prompt-lr", s.n, prompt=None)


def check_prompt_words(targets: Sequence[Pipeline], settings: Any, spec: ForgetSpec) -> None:
    """``--prompt-words`` within what each target's text encoder reads after the longest forget prompt, before any
    attack runs (a prompt attack on a network without a vocabulary is refused by the attack itself)."""
    if "prompt" not in settings.attacks or spec.context is None:
        return
    for target in targets:
        if not hasattr(target.net, "vocabulary_table"):
            continue
        room = prompt_room(target.net, spec.forget)
        if settings.prompt_words > room:
            raise ConfigError(
                "--prompt-words",
                f"the {target.description}'s text encoder reads at most {room} words "
                f"after its longest forget prompt, got {settings.prompt_words}",
            )


def words_found(result: Dict[str, Any]) -> List[str]:
    """The report's list of the words each budget found."""
    found = [
        f"- {r['target']}, {r['budget']} steps: + {r['prompt']!r}"
        for r in result["rows"]
        if r["attack"] == "prompt" and r.get("diverged") is None
    ]
    return ["", "Adversarial prompt words found (appended to every forget prompt):", *found] if found else []


PROMPT = Attack(
    "prompt",
    adversarial_prompt_rows,
    options=(
        Option(
            "prompt_words",
            "int",
            3,
            "adversarial prompt: words appended to each forget "
            "prompt (at most what the text encoder reads after the longest forget prompt)",
            POSITIVE,
        ),
        Option(
            "prompt_steps",
            "steps",
            (0, 25, 100),
            f"adversarial prompt budgets: PEZ search steps (each at most {MAX_STEPS:,})",
            STEPS,
            compare=True,
        ),
        Option(
            "prompt_lr",
            "float",
            0.1,
            f"adversarial prompt: Adam learning rate of the search (> 0, at most {MAX_LR:g})",
            LEARNING_RATE,
        ),
    ),
    prompt_only=True,
    axis="adversarial prompt: search steps",
    column="adversarial prompt {budget} steps",
    compare_when="prompt_steps",
    check=check_prompt_words,
    notes=words_found,
)
