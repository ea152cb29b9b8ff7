"""What was forgotten, as the attacks and the judges see it: the conditions to attack, the judges'
class of the forgotten concept, the retained conditions and their classes.

Class-conditional runs: the forget label itself. Prompt runs: the forget prompts (the retained pool's
prompts that name the concept), judged through class words (``"seven"`` -> class 7 of the digits judges).
"""

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple, Union

import torch

from sfd_lightning.data.prompts import class_of, replace_concept, spread
from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.errors import ConfigError

Item = Union[int, str]  # one class label or one prompt


def repeated(items: Sequence[Item], n: int) -> Condition:
    """``n`` conditions cycling through ``items`` (labels as a tensor, prompts as a list)."""
    chosen = [items[i % len(items)] for i in range(n)]
    return torch.tensor(chosen) if isinstance(chosen[0], int) else chosen


@dataclass
class ForgetSpec:
    """The forgotten concept and what surrounds it; ``token`` is where an embedding attack starts."""

    forget: List[Item]  # the forget conditions (one label, or the forget prompts)
    forget_class: int  # the judges' class of the forgotten concept
    retained: List[Tuple[Item, int]]  # (condition, the judges' class) of everything kept
    token: Item  # the forget label, or the concept word
    context: Optional[List[str]] = None  # prompt runs: the forget prompts without the concept word
    paraphrases: List[str] = field(default_factory=list)
    class_words: Optional[List[str]] = None  # prompt runs: the judges' class words (a CLIP surrogate's classes)

    def forget_conditions(self, n: int) -> Condition:
        return repeated(self.forget, n)

    def retained_conditions(self, n: int) -> Tuple[Condition, torch.Tensor]:
        """``n`` retained conditions spread over all retained ones, with their classes."""
        chosen = [self.retained[int(i * len(self.retained) / n)] for i in range(n)]
        return repeated([c for c, _ in chosen], n), torch.tensor([k for _, k in chosen])

    def class_conditions(self, cls: int, n: int) -> Condition:
        """``n`` retained conditions of the judges' class ``cls``."""
        items = [c for c, k in self.retained if k == cls]
        if not items:
            raise ConfigError("--pinpoint-k", f"no retained condition of class {cls}")
        return repeated(items, n)

    def retained_classes(self) -> List[int]:
        return sorted({k for _, k in self.retained})


def class_spec(num_classes: int, forget_label: int, forgotten: Sequence[int] = ()) -> ForgetSpec:
    """A class-conditional run: the judges' classes are the generator's labels. The attacked class is
    ``forget_label``; the other ``forgotten`` classes (a run that forgets several) are not retained ones."""
    if not 0 <= forget_label < num_classes:
        raise ConfigError("forget_label", f"must be in [0, {num_classes - 1}], got {forget_label}")
    skipped = {forget_label, *forgotten}
    return ForgetSpec(
        [forget_label], forget_label, [(c, c) for c in range(num_classes) if c not in skipped], forget_label
    )


def prompt_spec(
    pool: Sequence[str],
    concept: str,
    class_words: Sequence[str],
    paraphrases: Sequence[str] = (),
    max_prompts: int = 64,
) -> ForgetSpec:
    """A prompt run: ``pool``'s prompts naming ``concept`` are the forget prompts, the others the retained ones."""
    if not concept:
        raise ConfigError("--concept", "give the forgotten prompt concept (e.g. seven)")
    if concept.lower() not in [w.lower() for w in class_words]:
        raise ConfigError("--concept", f"{concept!r} is none of the judges' class words {list(class_words)}")
    forget = [p for p in pool if concept.lower() in p.lower()]
    retained = [p for p in pool if concept.lower() not in p.lower()]
    if not forget or not retained:
        raise ConfigError("--prompts", f"{concept!r} must occur in some but not all of the {len(pool)} prompts")
    context = [" ".join(replace_concept(p, concept, " ").split()) for p in forget]
    return ForgetSpec(
        forget,
        class_of(forget[0], class_words, "--class-words"),
        [(p, class_of(p, class_words, "--class-words")) for p in spread(retained, max_prompts)],
        concept.lower(),
        context,
        list(paraphrases),
        list(class_words),
    )
