"""The paraphrase attack: held-out wordings of a forgotten prompt concept (``--paraphrases``, one per line), each
judged on its own and all of them together."""

from typing import Any, Dict, List

import torch

from sfd_lightning.attack.context import AttackContext
from sfd_lightning.attack.options import Attack
from sfd_lightning.attack.rows import row
from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.protocol import rates
from sfd_lightning.pipelines.base import Pipeline


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


def paraphrase_label(row: Dict[str, Any]) -> str:
    """A held-out prompt (its text), or all of them together."""
    return "all held-out prompts" if row["budget"] == -1 else repr(row.get("prompt", row["budget"]))


PARAPHRASE = Attack("paraphrase", paraphrase_rows, prompt_only=True, label=paraphrase_label)
