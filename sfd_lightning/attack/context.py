"""The settings and shared inputs of an attack run."""

import math
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import torch

from sfd_lightning.attack.forget_spec import ForgetSpec
from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.protocol import Judge, Surrogate

ATTACKS = ("noise", "embedding", "paraphrase", "prompt", "relearn", "benign")
SAMPLE_ATTACKS = ("noise", "embedding", "paraphrase")
WEIGHTS = ("full", "lora")  # what relearning fine-tunes
PROMPT_ONLY = (
    "paraphrase",
    "prompt",
)  # attacks on prompt-conditional runs only  # AttackCallback's default: no fine-tuning
MAX_STEPS = 100_000  # every step budget: 100 times the papers' largest (1,000 relearning steps); past it, a typo
MAX_RESTARTS = 100
# Adam moves every weight by about the learning rate a step: past 1,000 nothing is learned, and the step no longer
# fits half-precision (or, past 3.4e38, single-precision) weights
MAX_LR = 1_000.0
LEARNING_RATE = (0.0, MAX_LR, True)  # > 0
# option: (low, high, low excluded): the allowed values of every numeric setting
RANGES = {
    "n": (1, math.inf, False),
    "eps": (0.0, math.inf, False),
    "pgd_steps": (0, MAX_STEPS, False),
    "restarts": (1, MAX_RESTARTS, False),
    "embedding_steps": (0, MAX_STEPS, False),
    "k_examples": (1, 16, False),
    "embedding_lr": LEARNING_RATE,
    "embedding_batch": (1, math.inf, False),
    "pinpoint_k": (0, math.inf, False),
    "prompt_words": (1, math.inf, False),
    "prompt_steps": (0, MAX_STEPS, False),
    "prompt_lr": LEARNING_RATE,
    "relearn_steps": (0, MAX_STEPS, False),
    "relearn_lr": LEARNING_RATE,
    "lora_rank": (1, math.inf, False),
    "seed": (0, 10**15, False),
}  # the noise seeds are seed * 1000 + k: within 64 bits


@dataclass
class AttackSettings:
    """Budgets and sizes of an attack run (the defaults give the README's digits figures)."""

    attacks: Sequence[str] = SAMPLE_ATTACKS
    n: int = 200  # attacked samples per budget (and retained samples for the noise attack)
    eps: Sequence[float] = (0.0, 0.25, 0.5, 1.0)  # noise budgets: ||z - z0|| <= eps * sqrt(d)
    pgd_steps: int = 10
    restarts: int = 2
    embedding_steps: Sequence[int] = (0, 25, 100, 200)  # the embedding attack's budgets: optimiser steps
    k_examples: int = 16  # examples of the forgotten concept the embedding attack fits (<= 16)
    embedding_lr: float = 0.05
    embedding_batch: int = 32
    pinpoint_k: int = 2  # nearest classes whose collateral damage is reported
    prompt_words: int = 3  # adversarial prompt: words appended to each forget prompt
    prompt_steps: Sequence[int] = (0, 25, 100)  # adversarial prompt budgets: PEZ steps
    prompt_lr: float = 0.1
    relearn_steps: Sequence[int] = (0, 50, 200, 1000)  # relearning budgets: fine-tuning steps on the K examples
    relearn_lr: Sequence[float] = (1e-4,)  # the fine-tuning's Adam learning rates (a grid: each is run)
    relearn_weights: Sequence[str] = ("full",)  # what relearning fine-tunes: full (every weight), lora (adapters)
    lora_rank: int = 4  # the rank of the LoRA adapters (lora relearning)
    seed: int = 0

    def check(self) -> None:
        """Every option in range, before any work: one ConfigError naming the first one out of it."""
        bad = [a for a in self.attacks if a not in ATTACKS]
        if bad or not self.attacks:
            raise ConfigError("--attack", f"must be among {ATTACKS} or all, got {list(self.attacks)}")
        if not self.relearn_weights or not set(self.relearn_weights) <= set(WEIGHTS):
            raise ConfigError(
                "--relearn-weights", f"must be among {', '.join(WEIGHTS)}, got {list(self.relearn_weights)}"
            )
        for name, (low, high, low_open) in RANGES.items():
            check_range("--" + name.replace("_", "-"), getattr(self, name), low, high, low_open)


def check_range(
    field: str, values: Union[float, Sequence[float]], low: float, high: float = math.inf, low_open: bool = False
) -> None:
    """``values`` (a number, or a sequence of at least one) finite, above ``low`` (or at it unless ``low_open``) and
    at most ``high``; else a ConfigError naming ``field`` with the first value out of range and what is allowed."""
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    inside = [math.isfinite(v) and (v > low if low_open else v >= low) and v <= high for v in values]
    if values and all(inside):
        return
    got = values[inside.index(False)] if values else "nothing"
    allowed = f"finite numbers {'>' if low_open else '>='} {low:g}" + ("" if high == math.inf else f" and <= {high:,g}")
    raise ConfigError(field, f"out of range: {got!r} (allowed: {allowed})")


@dataclass
class AttackContext:
    """Everything the attacks share: the concept, the classifiers, the examples and the reference images."""

    spec: ForgetSpec
    surrogate: Surrogate
    judges: Dict[str, Judge]
    settings: AttackSettings
    device: torch.device
    examples: Optional[torch.Tensor] = None  # (K, C, H, W) in [-1, 1]: the concept, for the embedding attack
    reference: Any = None  # an metrics.image_sets.ImageSet with labels: pinpoint FIDs
    features: Any = None  # a metrics.features.FeatureExtractor for those FIDs
    retained_examples: Optional[Tuple[torch.Tensor, Condition]] = None  # (images, conditions): benign relearning

    def noise(self, n: int, shape: Sequence[int], offset: int = 0) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.settings.seed * 1000 + offset)
        return torch.randn((n, *shape), generator=g).to(self.device)

    def on_device(self, c: Condition) -> Condition:
        return c.to(self.device) if isinstance(c, torch.Tensor) else c
