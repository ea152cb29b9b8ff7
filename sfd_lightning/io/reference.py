"""The SFD reference implementation's DDPM formats (tqch/score-forgetting-distillation, ``DDPM/``).

Its YAML configs describe the UNet under ``model:`` and ``data:``; its checkpoints are lists:
``[model_state, optimizer_state, (epoch,) step, (ema_shadow)]`` for a trained DDPM and
``[fake_score_state, optimizer_state, generator_state, optimizer_state, step, (ema_shadow)]`` for
an SFD/SiD run. State-dict keys may carry DDP's ``module.`` prefix; EMA shadows never do.
"""

from typing import Any, Dict, Mapping, Sequence

import torch

from sfd_lightning.errors import ConfigError

# fields of the reference YAML's model: section that are DDPMUNet arguments of the same name
_UNET_FIELDS = (
    "ch",
    "ch_mult",
    "num_res_blocks",
    "attn_resolutions",
    "dropout",
    "in_channels",
    "out_ch",
    "resamp_with_conv",
)
_IGNORED_MODEL_FIELDS = {"type", "var_type", "ema_rate", "ema", "cond_drop_prob"}


def unet_kwargs(config: Mapping[str, Any], field: str = "model_config") -> Dict[str, Any]:
    """DDPMUNet keyword arguments from a reference config's ``model:`` and ``data:`` sections."""
    model, data = config.get("model"), config.get("data")
    if not isinstance(model, Mapping) or not isinstance(data, Mapping):
        raise ConfigError(field, "expected the reference YAML's `model:` and `data:` sections (a dict with both keys)")
    if model.get("type", "simple") not in ("simple", "sid"):
        raise ConfigError(f"{field}.model.type", f"{model['type']!r} is not supported (allowed: simple, sid)")
    missing = [k for k in ("ch", "ch_mult", "num_res_blocks", "attn_resolutions", "in_channels") if k not in model]
    missing += [f"data.{k}" for k in ("image_size", "n_classes") if k not in data]
    if missing:
        raise ConfigError(field, f"missing reference fields: {', '.join(missing)}")
    unknown = sorted(set(model) - set(_UNET_FIELDS) - _IGNORED_MODEL_FIELDS)
    if unknown:
        raise ConfigError(
            f"{field}.model", f"unknown fields {unknown}; allowed: {sorted(set(_UNET_FIELDS) | _IGNORED_MODEL_FIELDS)}"
        )
    kwargs = {k: model[k] for k in _UNET_FIELDS if k in model}
    kwargs.update(resolution=data["image_size"], num_classes=data["n_classes"])
    for key in ("ch_mult", "attn_resolutions"):
        kwargs[key] = tuple(kwargs[key])
    return kwargs


def is_reference_checkpoint(obj: Any) -> bool:
    return isinstance(obj, (list, tuple)) and any(_is_state_dict(o) for o in obj)


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(isinstance(v, torch.Tensor) for v in obj.values())


def _strip(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    return {k.removeprefix("module."): v for k, v in state.items()}


def reference_weights(obj: Sequence[Any], use_ema: bool, role: str = "model") -> Dict[str, torch.Tensor]:
    """Network weights from a reference checkpoint list.

    ``role``: ``model`` (a DDPM, or an SFD run's generator when the list is an SFD checkpoint),
    ``fake_score`` (an SFD run's fake score). ``use_ema``: prefer the EMA shadow when present.
    """
    sfd_run = len(obj) >= 5 and _is_state_dict(obj[2])
    ema = obj[-1] if len(obj) > 1 and _is_state_dict(obj[-1]) else None
    if role == "fake_score":
        if not (sfd_run and _is_state_dict(obj[0])):
            raise ValueError(
                "it holds no fake score (a reference SFD/SiD run's checkpoint from a full snapshot has one)"
            )
        return _strip(obj[0])
    if use_ema and ema is not None:
        return _strip(ema)
    main = obj[2] if sfd_run else obj[0]
    if not _is_state_dict(main):
        raise ValueError("it holds no model weights at the expected position")
    return _strip(main)
