"""Robust SFD: forget rows whose noise is pushed, before an update, to where the generator's forget output is least
forgotten, so that the forgetting term trains there (adversarial training, Madry et al., 2018, on the one-step
generator's input: the surface ``sfd attack``'s noise attack searches).

Data-free, like the rest of SFD: no classifier scores the rows. The teacher itself does, as a diffusion classifier
(Li et al., 2023, "Your diffusion model is secretly a zero-shot classifier"): at the update's own noise level and
noise, the margin m(z) = ||D(x, c_o) - x_g||^2 - ||D(x, c_f) - x_g||^2, x = x_g + sigma eps, x_g = G(z, c_f), is
large where the teacher explains G's forget sample better by the forgotten condition c_f than by its override
c_o. A few normalised-gradient steps raise it inside the attack's L2 ball around each forget row's noise
(:func:`~sfd_lightning.diffusion.pgd.pgd_l2` from the row's own noise, keeping the best point seen, the start
included; no random draw, so the run's random stream is unchanged). By default (``updates: shared``) one push is
made an iteration, on the generator update's forget rows, and the fake score's update takes those rows as its own
forget rows, so that it learns the generator's samples where the generator is trained.
The retained rows are never touched.
"""

from dataclasses import dataclass, replace
from typing import Callable, Literal

import torch

import sfd_lightning.diffusion.conditions as conditions
from sfd_lightning.diffusion.pgd import pgd_l2
from sfd_lightning.errors import ConfigError
from sfd_lightning.models.sfd_batch import SFDBatch, StepDraws


@dataclass(frozen=True)
class RobustForget:
    """Adversarial forget rows (off by default: ``noise_eps: 0``).

    Args:
        noise_eps: the L2 ball around each forget row's noise, eps * sqrt(d) (the noise attack's units: 0.5 is
            its default budget); 0 turns robust SFD off.
        noise_steps: projected gradient steps per push (each: a forward and backward pass of the generator on the
            B forget rows and of the teacher on 2B rows, both conditions; then one forward pass scores the last point).
        updates: which updates train on pushed rows: ``generator`` (its forgetting term), ``both`` (each update
            pushes its own forget rows: the fake score also learns the generator's samples there) or ``shared``
            (one push, of the generator update's forget rows, which the fake score's update then takes as its
            forget rows: half the search of ``both``).
    """

    noise_eps: float = 0.0
    noise_steps: int = 2
    updates: Literal["generator", "both", "shared"] = "shared"

    @property
    def enabled(self) -> bool:
        return self.noise_eps > 0

    def applies_to(self, update: str) -> bool:
        """Whether ``update`` pushes its own forget rows (``shared``: the generator's only)."""
        return self.enabled and (self.updates == "both" or update == "generator")

    @property
    def shares(self) -> bool:
        """The fake score's update takes the generator update's pushed forget rows."""
        return self.enabled and self.updates == "shared"

    def check(self) -> None:
        if not self.noise_eps >= 0:
            raise ConfigError("model.robust.noise_eps", f"must be >= 0 (0: off), got {self.noise_eps}")
        if self.enabled and (not isinstance(self.noise_steps, int) or self.noise_steps < 1):
            raise ConfigError("model.robust.noise_steps", f"must be an integer >= 1, got {self.noise_steps!r}")
        if self.updates not in ("generator", "both", "shared"):
            raise ConfigError("model.robust.updates", f"must be generator, both or shared, got {self.updates!r}")


Denoise = Callable[[torch.Tensor, torch.Tensor, object], torch.Tensor]  # (x, sigma, condition) -> x0_hat
Generate = Callable[[torch.Tensor, object], torch.Tensor]  # (z, condition) -> x_g


def teacher_margin(
    teacher: Denoise, generate: Generate, forget, override, sigma: torch.Tensor, noise: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    """m(z) per row (B,): the teacher's denoising error of G(z, forget) under ``override`` minus under ``forget``.
    ``teacher`` takes the 2B rows of both conditions at once (override rows first)."""
    sigma_ = sigma.view(-1, *([1] * (noise.dim() - 1)))

    def margin(z: torch.Tensor) -> torch.Tensor:
        x_g = generate(z, forget)
        x = x_g + sigma_ * noise
        # one teacher call on both conditions (2B rows): one pass of a large network instead of two
        x0_hat = teacher(torch.cat([x, x]), torch.cat([sigma, sigma]), conditions.cat(override, forget))
        as_override, as_forget = (x0_hat - torch.cat([x_g, x_g])).square().flatten(1).sum(dim=1).chunk(2)
        return as_override - as_forget

    return margin


def pushed_forget_rows(
    batch: SFDBatch, draws: StepDraws, settings: RobustForget, teacher: Denoise, generate: Generate
) -> SFDBatch:
    """``batch`` with its forget rows' noise moved up the teacher's margin inside the ball; retained rows as they
    were."""
    n = batch.n_retained
    if not batch.forgets:
        return batch
    forget = batch.labels[n:]
    override = batch.override
    if callable(override):  # a policy (random, classifier) picks from the forget rows' samples
        with torch.no_grad():
            override = override(generate(batch.z[n:], forget))
    margin = teacher_margin(teacher, generate, forget, override, draws.sigma[n:], draws.noise[n:])
    z = pgd_l2(margin, batch.z[n:], settings.noise_eps, steps=settings.noise_steps, restarts=1)
    return replace(batch, z=torch.cat([batch.z[:n], z.detach()]))
