"""SFDModule's grouped settings (``model.init_args.loss_weights.g_forget`` and so on) and their checks.

Defaults are the reference's CIFAR-10 values (Chen, Zhang & Zhou, ICLR 2025; ../shared/method.md).
"""

from dataclasses import dataclass
from typing import Optional

from sfd_lightning.errors import ConfigError


@dataclass(frozen=True)
class LossWeights:
    """The weights of SFD's four loss terms (Alg. 1).

    Args:
        sg_remain: fake-score denoising loss on the retained rows.
        sg_forget: fake-score denoising loss on the forget rows.
        g_remain: generator (SiD) loss on the retained rows.
        g_forget: generator loss on the forget rows, whose teacher sees the override: the forgetting term.
    """

    sg_remain: float = 1.0
    sg_forget: float = 0.01
    g_remain: float = 1.0
    g_forget: float = 0.01

    @property
    def forgets(self) -> bool:
        """False for pure distillation (stage 1 of two-stage SFD): both forget weights 0."""
        return self.sg_forget > 0 or self.g_forget > 0

    def check(self) -> None:
        for name in ("sg_remain", "sg_forget", "g_remain", "g_forget"):
            if getattr(self, name) < 0:
                raise ConfigError(f"model.loss_weights.{name}", f"must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class Timesteps:
    """The teacher-schedule timesteps SFD uses.

    Args:
        t_min: smallest timestep drawn for the losses.
        t_init: timestep at which the generator denoises pure noise in one step (sigma_init).
        t_max: bound (exclusive) of the timesteps drawn for the losses.
    """

    t_min: int = 38
    t_init: int = 440
    t_max: int = 712

    def check(self, num_timesteps: int) -> None:
        T = num_timesteps
        if not 0 <= self.t_min < self.t_max <= T:
            raise ConfigError(
                "model.timesteps.t_min", f"need 0 <= t_min < t_max <= {T}, got t_min={self.t_min}, t_max={self.t_max}"
            )
        if not 0 <= self.t_init < T:
            raise ConfigError("model.timesteps.t_init", f"must be in [0, {T - 1}], got {self.t_init}")


@dataclass(frozen=True)
class Guidance:
    """Classifier-free guidance inside SFD's losses (the reference's Stable Diffusion runs use 4.5 for all three).

    Args:
        teacher: the teacher's guidance scale in the generator loss (1: none).
        fake_score: the fake score's scale in the generator loss (1: none).
        fake_score_train: the fake score's scale inside its own denoising loss (1: none).
        label_dropout: share of the fake-score update's rows whose condition becomes the null condition (label
            -1, the empty prompt), so the fake score's unconditional branch keeps learning; null: 0.1 when the
            fake score is guided (either fake-score scale not 1), else 0, as the reference.
    """

    teacher: float = 1.0
    fake_score: float = 1.0
    fake_score_train: float = 1.0
    label_dropout: Optional[float] = None

    @property
    def dropout(self) -> float:
        if self.label_dropout is not None:
            return self.label_dropout
        return 0.1 if self.fake_score != 1 or self.fake_score_train != 1 else 0.0

    def check(self) -> None:
        if not 0 <= self.dropout < 1:
            raise ConfigError("model.guidance.label_dropout", f"must be in [0, 1), got {self.dropout}")
