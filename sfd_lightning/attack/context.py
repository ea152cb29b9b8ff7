"""The settings and shared inputs of an attack run."""
import math
from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

import torch

from sfd_lightning.attack.forget_spec import ForgetSpec
from sfd_lightning.attack.judges import Judge, Surrogate
from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.errors import ConfigError

ATTACKS = ("noise", "embedding", "paraphrase", "prompt", "relearn", "benign")
SAMPLE_ATTACKS = ("noise", "embedding", "paraphrase")
WEIGHTS = ("full", "lora")  # what relearning fine-tunes
PROMPT_ONLY = ("paraphrase", "prompt")  # attacks on prompt-conditional runs only  # AttackCallback's default: no fine-tuning


@dataclass
class AttackSettings:
    """Budgets and sizes of an attack run (the defaults give the README's digits figures)."""

    attacks: Sequence[str] = SAMPLE_ATTACKS
    n: int = 200                  # attacked samples per budget (and retained samples for the noise attack)
    eps: Sequence[float] = (0.0, 0.25, 0.5, 1.0)  # noise budgets: ||z - z0|| <= eps * sqrt(d)
    pgd_steps: int = 10
    restarts: int = 2
    embedding_steps: Sequence[int] = (0, 25, 100, 200)  # the embedding attack's budgets: optimiser steps
    k_examples: int = 16          # examples of the forgotten concept the embedding attack fits (<= 16)
    embedding_lr: float = 0.05
    embedding_batch: int = 32
    pinpoint_k: int = 2           # nearest classes whose collateral damage is reported
    prompt_words: int = 3         # adversarial prompt: words appended to each forget prompt
    prompt_steps: Sequence[int] = (0, 25, 100)  # adversarial prompt budgets: PEZ steps
    prompt_lr: float = 0.1
    relearn_steps: Sequence[int] = (0, 50, 200, 1000)  # relearning budgets: fine-tuning steps on the K examples
    relearn_lr: Sequence[float] = (1e-4,)  # the fine-tuning's Adam learning rates (a grid: each is run)
    relearn_weights: Sequence[str] = ("full",)  # what relearning fine-tunes: full (every weight), lora (adapters)
    lora_rank: int = 4            # the rank of the LoRA adapters (lora relearning)
    seed: int = 0

    def check(self) -> None:
        bad = [a for a in self.attacks if a not in ATTACKS]
        if bad or not self.attacks:
            raise ConfigError("--attack", f"must be among {ATTACKS} or all, got {list(self.attacks)}")
        if not self.relearn_weights or not set(self.relearn_weights) <= set(WEIGHTS):
            raise ConfigError("--relearn-weights", f"must be among {', '.join(WEIGHTS)}, got {list(self.relearn_weights)}")
        checks = {"--n": self.n >= 1, "--eps": all(0 <= e < math.inf for e in self.eps), "--pgd-steps": self.pgd_steps >= 0,
                  "--restarts": self.restarts >= 1, "--embedding-steps": all(s >= 0 for s in self.embedding_steps),
                  "--k-examples": 1 <= self.k_examples <= 16, "--pinpoint-k": self.pinpoint_k >= 0,
                  "--relearn-steps": all(s >= 0 for s in self.relearn_steps), "--prompt-words": self.prompt_words >= 1,
                  "--prompt-steps": all(s >= 0 for s in self.prompt_steps),
                  "--relearn-lr": len(self.relearn_lr) > 0 and all(0 < lr < math.inf for lr in self.relearn_lr),
                  "--lora-rank": self.lora_rank >= 1}
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(name, f"out of range: {asdict(self)[name[2:].replace('-', '_')]!r}")


@dataclass
class AttackContext:
    """Everything the attacks share: the concept, the classifiers, the examples and the reference images."""

    spec: ForgetSpec
    surrogate: Surrogate
    judges: Dict[str, Judge]
    settings: AttackSettings
    device: torch.device
    examples: Optional[torch.Tensor] = None   # (K, C, H, W) in [-1, 1]: the concept, for the embedding attack
    reference: Any = None                     # an metrics.image_sets.ImageSet with labels: pinpoint FIDs
    features: Any = None                      # a metrics.features.FeatureExtractor for those FIDs
    retained_examples: Optional[Tuple[torch.Tensor, Condition]] = None  # (images, conditions): benign relearning

    def noise(self, n: int, shape: Sequence[int], offset: int = 0) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.settings.seed * 1000 + offset)
        return torch.randn((n, *shape), generator=g).to(self.device)

    def on_device(self, c: Condition) -> Condition:
        return c.to(self.device) if isinstance(c, torch.Tensor) else c
