"""``load_teacher``: a pretrained epsilon-prediction network from a checkpoint, in one call."""

from typing import Any, Mapping, Optional

from torch import nn

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.asset import FORMAT
from sfd_lightning.io.build import build, build_loaded
from sfd_lightning.io.checkpoint import network_weights, read_any
from sfd_lightning.io.reference import unet_kwargs
from sfd_lightning.io.source import Source
from sfd_lightning.io.strict import load_state_into

# the network of the reference implementation's configs
REFERENCE_UNET = "sfd_lightning.models.components.DDPMUNet"


def _net_of(module: nn.Module) -> nn.Module:
    """The epsilon network inside a denoiser adapter (or the module itself)."""
    return getattr(module, "net", module)


def load_teacher(model_config: Optional[Mapping[str, Any]], ckpt_path: str, use_ema: bool = True) -> nn.Module:
    """Build a teacher UNet and load its weights strictly; returns it in eval mode.

    The returned module's ``forward(x, t, labels)`` gives eps_hat for x_t at integer (or fractional)
    timesteps t in [0, T) and class labels (-1: the null class of classifier-free guidance).

    Args:
        model_config: the reference implementation's YAML as a dict (its ``model:`` and ``data:``
            sections), or a ``{"class_path", "init_args"}`` config of this project's networks, or
            None for this project's exported teacher assets, which carry their own config.
        ckpt_path: a reference DDPM checkpoint (list with model state, optimiser, step and EMA; keys
            may carry ``module.``), an exported asset, a ``DiffusionModule`` Lightning checkpoint,
            or a bare state dict.
        use_ema: take the EMA weights where the checkpoint has them.
    """
    source = Source(ckpt_path, "ckpt_path")
    obj = read_any(source)
    if model_config is None:
        if not (isinstance(obj, Mapping) and obj.get("format") == FORMAT.format(kind="denoiser")):
            raise ConfigError(
                "model_config",
                f"{ckpt_path!r} is not an exported teacher asset; pass the model config "
                "(the reference YAML's model/data sections or a class_path config)",
            )
        model_config = obj["config"]
    state = network_weights(
        obj,
        source,
        use_ema=use_ema,
        prefixes=("denoiser_ema.module.net.", "denoiser.net.", "net.") if use_ema else ("denoiser.net.", "net."),
    )
    if isinstance(model_config, Mapping) and "class_path" in model_config:
        # a stored config: its shapes are checked against the weights before it is built
        return _net_of(
            build_loaded(dict(model_config), state, Source(ckpt_path, "model_config"), "the network", _net_of)
        ).eval()
    # named, not imported: the networks load their own weights through io
    net = build(
        {"class_path": REFERENCE_UNET, "init_args": unet_kwargs(model_config)}, Source(ckpt_path, "model_config")
    )
    load_state_into(net, state, source, type(net).__name__)
    return net.eval()
