"""The prompt lists of a run that forgets several concepts: forget prompts grouped by the concepts they name, each
forget prompt's override, forget rows drawn evenly over the concepts, and validation prompts spread over them.

A prompt names a concept when the concept occurs in it, case-insensitively (a substring, as with one concept). A
forget prompt belongs to every concept it names; its override replaces all of them at once, longest first, so no
replacement is rewritten by another concept.
"""

import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch

from sfd_lightning.data.noise import balanced_rows
from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting.forget_set import Concept


def spread(prompts: Sequence, n: int) -> List:
    """``n`` items spread evenly over the list (all of them if there are fewer): deterministic validation prompts."""
    if len(prompts) <= n:
        return list(prompts)
    return [prompts[int(i * len(prompts) / n)] for i in range(n)]


def names(prompt: str, concept: Concept) -> bool:
    """Whether ``prompt`` names ``concept`` (case-insensitive substring)."""
    return concept.concept.lower() in prompt.lower()


def replace_concepts(prompt: str, concepts: Sequence[Concept]) -> str:
    """``prompt`` with every concept it names replaced by its replacement, in one pass (longest concept first)."""
    by_key = {c.concept.lower(): c.replacement for c in concepts}
    pattern = "|".join(re.escape(k) for k in sorted(by_key, key=len, reverse=True))
    return re.sub(pattern, lambda m: by_key[m.group(0).lower()], prompt, flags=re.IGNORECASE)


@dataclass(frozen=True)
class ConceptPrompts:
    """Forget prompts with their overrides, the retained prompts, and per concept the indices of its forget prompts."""

    forget: List[str]
    overrides: List[str]
    retained: List[str]
    members: List[List[int]]


def concept_prompts(concepts: Sequence[Concept], pool: List[str], forget: Optional[List[str]]) -> ConceptPrompts:
    """Split ``pool`` by the concepts (``forget`` None) or check the given forget and retained prompts: every forget
    prompt names a concept, every concept has a forget prompt, no retained prompt names one."""
    if forget is None:
        forget = [p for p in pool if any(names(p, c) for c in concepts)]
        retained = [p for p in pool if not any(names(p, c) for c in concepts)]
    else:
        retained = pool
        for p in forget:
            if not any(names(p, c) for c in concepts):
                raise ConfigError("data.forget_prompts", f"prompt {p!r} names none of the forgotten concepts")
    members = [[i for i, p in enumerate(forget) if names(p, c)] for c in concepts]
    for c, m in zip(concepts, members):
        if not m:
            raise ConfigError(
                "data.concepts", f"{c.concept!r} occurs in none of the {len(forget)} forget prompts; give it some"
            )
    for p in retained:
        named = [c.concept for c in concepts if names(p, c)]
        if named:  # only given retained prompts can: a split pool's never do
            raise ConfigError(
                "data.retained_prompts", f"prompt {p!r} names the forgotten concept {named[0]!r}; keep it out"
            )
    return ConceptPrompts(forget, [replace_concepts(p, concepts) for p in forget], retained, members)


def draw_forget(members: Sequence[Sequence[int]], n: int, g: torch.Generator) -> List[int]:
    """``n`` forget prompt indices: row i goes to concept (start + i) mod K from a random start (each concept gets
    n // K or n // K + 1 rows, equal in expectation), then one of that concept's prompts, uniformly."""
    rows = balanced_rows(range(len(members)), n, g).tolist()  # as the class path's forget rows
    sizes = torch.tensor([len(members[c]) for c in rows], dtype=torch.float64)
    picks = (torch.rand(n, generator=g, dtype=torch.float64) * sizes).long().tolist()
    return [members[c][min(j, len(members[c]) - 1)] for c, j in zip(rows, picks)]


def validation_forget(members: Sequence[Sequence[int]], n: int) -> List[Tuple[int, int]]:
    """(forget prompt index, concept index) pairs: ``n`` shared evenly over the concepts (at least one each), each
    concept's spread over its prompts not taken by an earlier concept."""
    k, taken, chosen = len(members), set(), []
    for c, m in enumerate(members):
        quota = n // k + (1 if c < n % k else 0)
        quota = max(1, quota) if k > 1 else quota
        for i in spread([i for i in m if i not in taken], quota):
            chosen.append((i, c))
            taken.add(i)
    return chosen
