"""The shared inputs of an attack run (its settings: ``attack.registry.AttackSettings``)."""

from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

import torch

from sfd_lightning.attack.forget_spec import ForgetSpec
from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.judges.protocol import Judge, Surrogate


@dataclass
class AttackContext:
    """Everything the attacks share: the concept, the classifiers, the examples and the reference images."""

    spec: ForgetSpec
    surrogate: Surrogate
    judges: Dict[str, Judge]
    settings: Any  # an attack.registry.AttackSettings (the registry imports the attacks, which import this)
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
