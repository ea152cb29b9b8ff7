"""The time grid of a rectified-flow model (SD3, FLUX; Esser et al., 2024, "Scaling rectified flow
transformers"), in the sigma currency.

The flow x_t = (1 - t) x0 + t eps is x_t = (1 - t) (x0 + sigma eps) with sigma = t / (1 - t): the
sigma form divided by 1 + sigma. The grid is the model's own scheduler's (diffusers'
``FlowMatchEulerDiscreteScheduler``) at ``num_timesteps`` steps, with its shift
t -> s t / (1 + (s - 1) t), which multiplies sigma by s. SD3 uses a fixed s = 3; FLUX.1-dev chooses
s = exp(mu) from the image's token count (its "resolution-dependent shift", mu interpolated between
``base_shift`` at ``base_tokens`` and ``max_shift`` at ``max_tokens``).

Pure noise is t = 1, sigma = infinity: the grid's top is held at t = :data:`TOP_TIME`
(sigma 9999), where the model's input differs from pure noise by 1e-4 of the data.
"""

from typing import Optional

import torch
from torch import nn

from sfd_lightning.errors import ConfigError

TOP_TIME = 1 - 1e-4


def resolution_mu(image_tokens: int, base_tokens: int, max_tokens: int, base_shift: float, max_shift: float) -> float:
    """FLUX's mu for an image of ``image_tokens`` latent patches: linear from (base_tokens, base_shift) to
    (max_tokens, max_shift); the shift is exp(mu)."""
    slope = (max_shift - base_shift) / (max_tokens - base_tokens)
    return base_shift + slope * (image_tokens - base_tokens)


class FlowSchedule(nn.Module):
    """A rectified-flow model's discrete grid: ``sigmas[i]`` for i in {0, ..., T-1}, the noise growing with i."""

    def __init__(
        self,
        num_timesteps: int = 1000,
        shift: float = 1.0,
        image_tokens: Optional[int] = None,
        base_shift: float = 0.5,
        max_shift: float = 1.15,
        base_tokens: int = 256,
        max_tokens: int = 4096,
    ):
        """
        Args:
            num_timesteps: steps T of the grid (the model's ``num_train_timesteps``: 1000 for SD3 and FLUX).
            shift: the fixed time shift s (SD3: 3.0; 1.0 is none). Ignored when ``image_tokens`` is given.
            image_tokens: latent patches per image, for FLUX's resolution-dependent shift s = exp(mu)
                (1024 x 1024 images: 4096); null for a fixed shift.
            base_shift: mu at ``base_tokens`` (FLUX: 0.5).
            max_shift: mu at ``max_tokens`` (FLUX: 1.15).
            base_tokens: the token count of ``base_shift`` (FLUX: 256).
            max_tokens: the token count of ``max_shift`` (FLUX: 4096).
        """
        super().__init__()
        if num_timesteps < 2:
            raise ConfigError("schedule.num_timesteps", f"must be >= 2, got {num_timesteps}")
        if not shift > 0:
            raise ConfigError("schedule.shift", f"must be > 0, got {shift}")
        if image_tokens is not None and (image_tokens < 1 or base_tokens >= max_tokens):
            raise ConfigError(
                "schedule.image_tokens",
                f"must be >= 1 with base_tokens < max_tokens, got {image_tokens} ({base_tokens}, {max_tokens})",
            )
        self.num_timesteps, self.shift = num_timesteps, shift
        self.mu = (
            None
            if image_tokens is None
            else resolution_mu(image_tokens, base_tokens, max_tokens, base_shift, max_shift)
        )
        self.scheduler_config = dict(
            num_train_timesteps=num_timesteps,
            shift=shift,
            use_dynamic_shifting=self.mu is not None,
            base_shift=base_shift,
            max_shift=max_shift,
            base_image_seq_len=base_tokens,
            max_image_seq_len=max_tokens,
        )
        # Derived values are not weights: keep them out of state dicts.
        self.register_buffer("sigmas", self.sampling_sigmas(num_timesteps).flip(0), persistent=False)

    def scheduler(self, steps: int):
        """diffusers' ``FlowMatchEulerDiscreteScheduler`` of this model, set to ``steps`` steps."""
        from diffusers import FlowMatchEulerDiscreteScheduler

        scheduler = FlowMatchEulerDiscreteScheduler(**self.scheduler_config)
        scheduler.set_timesteps(steps, mu=self.mu)
        return scheduler

    def sampling_sigmas(self, steps: int) -> torch.Tensor:
        """The ``steps`` noise levels of the model's own Euler sampler, from the largest down (its flow times,
        the top held at :data:`TOP_TIME`, as sigmas)."""
        times = self.scheduler(steps).sigmas[:-1].double().clamp(max=TOP_TIME)  # the last, 0, is the end
        return (times / (1 - times)).float()

    def sigma_to_t(self, sigma: torch.Tensor) -> torch.Tensor:
        """The flow time t = sigma / (1 + sigma) in (0, 1)."""
        return sigma / (1 + sigma)
