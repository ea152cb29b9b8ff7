"""The one denoiser interface: ``x0_hat = D(x, sigma, labels)`` with ``x = x0 + sigma * eps``.

Every network is used through it (Karras et al., 2022, "Elucidating the design space", sec. 2;
the k-diffusion convention). Adapters convert other parameterisations here and nowhere else: VP networks
predicting eps or v (DDPM, SD 1.x/2.x, SDXL, DiT) and rectified-flow networks predicting the velocity (SD3, FLUX).
Conditions are class labels or prompts (:mod:`~sfd_lightning.diffusion.conditions`); label ``-1``
or the empty prompt asks for the unconditional prediction used by classifier-free guidance (Ho &
Salimans, 2022).
"""

from typing import Literal, Optional, Union

import torch
from torch import nn

import sfd_lightning.diffusion.conditions as conditions
from sfd_lightning.diffusion.conditions import NULL_LABEL, Condition  # noqa: F401  (NULL_LABEL re-exported)
from sfd_lightning.diffusion.flow_schedule import FlowSchedule
from sfd_lightning.diffusion.schedule import VPSchedule
from sfd_lightning.errors import ConfigError

ADAPTER_KINDS = {"VPDenoiser": "vp", "EpsDenoiser": "vp", "FlowDenoiser": "flow"}


def check_adapter(adapter: str, net_class: type, field: str = "teacher") -> None:
    """Refuse a network of the other kind for ``adapter``: networks declare ``noise_kind`` ("vp": eps or v on a VP
    schedule; "flow": a rectified-flow velocity); a network without it (a user's own) is not checked."""
    kind, want = getattr(net_class, "noise_kind", None), ADAPTER_KINDS.get(adapter)
    if kind is None or want is None or kind == want:
        return
    other = next(name for name, k in ADAPTER_KINDS.items() if k == kind)
    what = "predicts a flow velocity" if kind == "flow" else "is a VP network (eps or v)"
    raise ConfigError(field, f"{adapter} cannot wrap {net_class.__name__}: {net_class.__name__} {what}; use {other}")


def check_adapter_config(config, field: str) -> None:
    """:func:`check_adapter` on every denoiser spec (``{"class_path": ..., "init_args": {"net": {"class_path": ...}}}``)
    in a config tree, from the class paths alone: before any network is built or any weight read."""
    import importlib

    if isinstance(config, dict):
        net = (config.get("init_args") or {}).get("net") if isinstance(config.get("init_args"), dict) else None
        adapter = str(config.get("class_path", "")).rpartition(".")[2]
        if adapter in ADAPTER_KINDS and isinstance(net, dict) and isinstance(net.get("class_path"), str):
            module, _, name = net["class_path"].rpartition(".")
            try:
                net_class = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError, ValueError):
                return  # jsonargparse reports an unknown class itself
            check_adapter(adapter, net_class, field)
        for key, value in config.items():
            check_adapter_config(value, f"{field}.{key}" if key != "init_args" else field)


class Denoiser(nn.Module):
    """Base class: ``forward(x, sigma, labels) -> x0_hat``, all in the sigma currency."""

    schedule: Union[VPSchedule, FlowSchedule]

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, labels: Optional[Condition] = None) -> torch.Tensor:
        raise NotImplementedError


class VPDenoiser(Denoiser):
    """Wraps a discrete-time variance-preserving network ``net(x_t, t, labels)`` predicting eps or v.

    x_t = a_t x0 + b_t eps = a_t x, so the network sees ``x * a_t`` at the (continuous) timestep
    matching sigma, and x0_hat = x - sigma * eps_hat. A v-prediction network (Salimans & Ho, 2022)
    returns v = a_t eps - b_t x0, so eps_hat = b_t x_t + a_t v.
    """

    def __init__(self, net: nn.Module, schedule: Optional[VPSchedule] = None, prediction: Literal["eps", "v"] = "eps"):
        """
        Args:
            net: network called as ``net(x_t, t, labels)``; labels are class labels or prompts.
            schedule: the discrete VP schedule the network was trained with (default: linear, T=1000).
            prediction: what the network predicts: ``eps`` or ``v``.
        """
        super().__init__()
        if prediction not in ("eps", "v"):
            raise ConfigError("prediction", f"must be eps or v, got {prediction!r}")
        check_adapter("VPDenoiser", type(net))
        self.net, self.prediction = net, prediction
        self.schedule = schedule if schedule is not None else VPSchedule()

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, labels: Optional[Condition] = None) -> torch.Tensor:
        sigma = torch.as_tensor(sigma, device=x.device, dtype=x.dtype).expand(x.shape[0])  # (B,)
        t = self.schedule.sigma_to_t(sigma)
        sigma_ = sigma.view(-1, *([1] * (x.dim() - 1)))  # (B, 1, 1, 1)
        c_in = (1 + sigma_**2).rsqrt()  # a_t; b_t = sigma * a_t
        out = self.net(x * c_in, t, labels)
        eps_hat = out if self.prediction == "eps" else sigma_ * c_in * (x * c_in) + c_in * out
        return x - sigma_ * eps_hat


class FlowDenoiser(Denoiser):
    """Wraps a rectified-flow network ``net(x_t, t, labels)`` predicting the velocity v = eps - x0 (SD3, FLUX).

    x_t = (1 - t) x0 + t eps = x / (1 + sigma) with t = sigma / (1 + sigma), so the network sees
    ``x / (1 + sigma)`` at flow time t in (0, 1), and x0_hat = x_t - t v_hat. Guidance of x0_hat equals
    guidance of v_hat (x0_hat is affine in v_hat).
    """

    def __init__(self, net: nn.Module, schedule: Optional[FlowSchedule] = None):
        """
        Args:
            net: network called as ``net(x_t, t, labels)`` with the flow time t in (0, 1); it returns the velocity.
            schedule: the model's time grid and shift (default: 1000 steps, no shift).
        """
        super().__init__()
        check_adapter("FlowDenoiser", type(net))
        self.net = net
        self.schedule = schedule if schedule is not None else FlowSchedule()

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, labels: Optional[Condition] = None) -> torch.Tensor:
        sigma = torch.as_tensor(sigma, device=x.device, dtype=x.dtype).expand(x.shape[0])  # (B,)
        t = self.schedule.sigma_to_t(sigma)
        x_t = x / (1 + sigma.view(-1, *([1] * (x.dim() - 1))))
        v_hat = self.net(x_t, t, labels)
        return x_t - t.view(-1, *([1] * (x.dim() - 1))) * v_hat


# The name before v-prediction: configs and checkpoints written earlier store this class_path (sfd_lightning.compat).
EpsDenoiser = VPDenoiser


def guided(
    denoiser: Denoiser,
    x: torch.Tensor,
    sigma: torch.Tensor,
    labels: Condition,
    scale: float,
    null_labels: Optional[Condition] = None,
) -> torch.Tensor:
    """Classifier-free guidance in x0 space: D_u + scale * (D_c - D_u); scale 1 is no guidance.

    D_u is conditioned on ``null_labels`` (per row, e.g. a negative prompt), by default the null condition.
    Guidance is linear, so in x0 space it equals the usual guidance of eps.
    """
    if scale == 1.0:
        return denoiser(x, sigma, labels)
    if null_labels is None:
        null_labels = conditions.null_like(labels)
    sigma = torch.as_tensor(sigma, device=x.device, dtype=x.dtype).expand(x.shape[0])
    both = denoiser(torch.cat([x, x]), torch.cat([sigma, sigma]), conditions.cat(labels, null_labels))
    cond, uncond = both.chunk(2)
    return uncond + scale * (cond - uncond)
