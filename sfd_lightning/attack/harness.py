"""One attack run: every attack and budget on each target, scored by every judge.

A row is ``{"attack", "budget", "target", "success": {judge: rate}, "retained": {judge: accuracy} | None,
"n"}``: the share of attacked samples each judge calls the forgotten class, and for the noise attack
the retained conditions' accuracy under the same attack (PGD towards the forgotten class at the same
budget: if retained samples flip too, the budget is large enough to draw anything). A search that went non-finite
gives its later budgets rows marked ``"diverged": step`` with no rates (attack.search_steps).
"""

import sys
import time
from dataclasses import asdict
from typing import Any, Dict, List, Optional, Sequence

import torch

from sfd_lightning.attack.adversarial_prompt import pez_search, prompt_room
from sfd_lightning.attack.context import ATTACKS, PROMPT_ONLY, AttackContext, AttackSettings  # noqa: F401  (re-exported)
from sfd_lightning.attack.embedding import invert_token
from sfd_lightning.attack.forget_spec import ForgetSpec, repeated
from sfd_lightning.attack.pinpoint import pinpoint
from sfd_lightning.attack.relearn import denoising_objective, matching_objective, relearn_curve
from sfd_lightning.attack.report import tuning
from sfd_lightning.attack.search_steps import until_diverged
from sfd_lightning.diffusion.conditions import Condition, ConditionTokens
from sfd_lightning.diffusion.pgd import pgd_l2
from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.protocol import rates
from sfd_lightning.metrics.eval_progress import eval_progress
from sfd_lightning.pipelines.base import Pipeline


def row(
    attack: str,
    budget: float,
    target: Pipeline,
    success: Dict[str, float],
    retained: Optional[Dict[str, float]],
    n: int,
) -> Dict[str, Any]:
    return {"attack": attack, "budget": budget, "target": target.name, "success": success, "retained": retained, "n": n}


def diverged_rows(
    attack: str,
    target: Pipeline,
    ctx: AttackContext,
    milestones: Sequence[int],
    step: Optional[int],
    option: str,
    n: int,
    **extra: Any,
) -> List[Dict[str, Any]]:
    """Rows marked diverged, with no rates, for the budgets of ``milestones`` from ``step`` on (none when ``step`` is
    None: the search finished), and one line on stderr naming the option to lower."""
    if step is None:
        return []
    print(
        f"attack {attack} on the {target.description}: the search went non-finite (NaN or infinite) at step {step}; "
        f"its budgets from {step} steps on are marked diverged, not scored (lower {option})",
        file=sys.stderr,
        flush=True,
    )
    return [
        dict(row(attack, budget, target, dict.fromkeys(ctx.judges), None, n), diverged=step, **extra)
        for budget in sorted(milestones)
        if budget >= step
    ]


def progress(attack: str, target: Pipeline, detail: str = "") -> str:
    """The name of an attack's progress lines."""
    return f"attack {attack} on the {target.description}{detail}"


def noise_attack(target: Pipeline, c: Condition, z0: torch.Tensor, ctx: AttackContext, eps: float) -> torch.Tensor:
    """Images of ``target`` at the PGD noise that most raises the surrogate's forgotten-class log-probability."""
    s, cls = ctx.settings, ctx.spec.forget_class
    z = pgd_l2(
        lambda z: ctx.surrogate.log_prob(target.generate(z, c), cls),
        z0,
        eps,
        s.pgd_steps,
        s.restarts,
        torch.Generator().manual_seed(s.seed + 1),
    )
    with torch.no_grad():
        return target.generate(z, c)


def noise_rows(target: Pipeline, ctx: AttackContext) -> List[Dict[str, Any]]:
    s, forget_class = ctx.settings, torch.tensor(ctx.spec.forget_class)
    z0 = ctx.noise(s.n, target.shape)
    forget = ctx.on_device(ctx.spec.forget_conditions(s.n))
    retained, classes = ctx.spec.retained_conditions(s.n)
    rows = []
    for eps in eval_progress(s.eps, len(s.eps), progress("noise", target), unit="budget"):
        attacked = noise_attack(target, forget, z0, ctx, eps)
        kept = noise_attack(target, ctx.on_device(retained), z0, ctx, eps)
        rows.append(
            row("noise", eps, target, rates(ctx.judges, attacked, forget_class), rates(ctx.judges, kept, classes), s.n)
        )
    return rows


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


def paraphrase_rows(target: Pipeline, ctx: AttackContext) -> List[Dict[str, Any]]:
    """One row per held-out prompt (budget: its index) and one for all of them together (budget -1)."""
    prompts, s = ctx.spec.paraphrases, ctx.settings
    if not prompts:
        raise ConfigError("--paraphrases", "the paraphrase attack needs a prompt-conditional run and a paraphrase file")
    n = max(8, s.n // len(prompts))
    z = ctx.noise(n, target.shape, offset=2)
    forget_class, rows, pooled = torch.tensor(ctx.spec.forget_class), [], []
    for i, prompt in enumerate(prompts):
        with torch.no_grad():
            images = target.generate(z, [prompt] * n)
        rows.append(dict(row("paraphrase", i, target, rates(ctx.judges, images, forget_class), None, n), prompt=prompt))
        pooled.append(images)
    rows.append(
        row("paraphrase", -1, target, rates(ctx.judges, torch.cat(pooled), forget_class), None, n * len(prompts))
    )
    return rows


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


def check_prompt_words(targets: Sequence[Pipeline], settings: AttackSettings, spec: ForgetSpec) -> None:
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


RUNNERS = {
    "noise": noise_rows,
    "embedding": embedding_rows,
    "paraphrase": paraphrase_rows,
    "prompt": adversarial_prompt_rows,
    "relearn": relearn_rows,
    "benign": benign_rows,
}


def run_attacks(targets: Sequence[Pipeline], ctx: AttackContext, log=lambda m: print(m, flush=True)) -> Dict[str, Any]:
    """Every configured attack on every target, the pinpoint collateral, and the settings: ``sfd attack``'s JSON."""
    ctx.settings.check()
    check_prompt_words(targets, ctx.settings, ctx.spec)
    rows: List[Dict[str, Any]] = []
    start = time.perf_counter()
    for attack in ctx.settings.attacks:
        for target in targets:
            t0 = time.perf_counter()
            rows += RUNNERS[attack](target, ctx)
            log(f"attack {attack} on the {target.description}: {time.perf_counter() - t0:.0f} s")
    result = {
        "forget_class": ctx.spec.forget_class,
        "forget": ctx.spec.forget,
        "judges": list(ctx.judges),
        "targets": {t.name: {"description": t.description, "nfe": t.nfe} for t in targets},
        "settings": asdict(ctx.settings),
        "rows": rows,
    }
    if ctx.settings.pinpoint_k:
        result["pinpoint"] = pinpoint(targets, ctx)
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result
