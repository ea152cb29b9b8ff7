"""What a checkpoint given to ``sfd fit|validate|predict --ckpt_path`` may be asked for.

LightningCLI puts the checkpoint's hyper-parameters over the config, so a model setting that the config or
the command line sets otherwise (``--model.forget_label=3`` on a forget-0 run) would be dropped without a
word; and a finished run has nothing left to train. Both are refused before anything is loaded. Settings
outside the model (``trainer.*``, ``data.*``, callbacks, the logger) may change on resume.
"""

import json
from typing import Any, Dict, List, Mapping, Optional

from sfd_lightning.errors import ConfigError


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))  # tuples as lists, paths as strings


def shown(value: Any) -> str:
    """A setting as the error line shows it: a group of settings as ``{rank: 16, alpha: None}``, a value as its repr."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}: {shown(v)}" for key, v in value.items()) + "}"
    return repr(value)


def differences(asked: Any, stored: Any, name: str) -> List[str]:
    """``name=asked (checkpoint: stored)`` for each setting both sides hold with different values, walking the two
    nested configs together: a group of settings on one side and ``None`` (or a value) on the other is one
    difference, named at the group (``model.init_args.lora=None (checkpoint: {rank: 16, ...})``)."""
    if isinstance(asked, Mapping) and isinstance(stored, Mapping):
        return [
            line for key in asked if key in stored for line in differences(asked[key], stored[key], f"{name}.{key}")
        ]
    asked, stored = _plain(asked), _plain(stored)
    return [] if asked == stored else [f"{name}={shown(asked)} (checkpoint: {shown(stored)})"]


def stored_model_config(hparams: Mapping[str, Any]) -> Dict[str, Any]:
    """A checkpoint's hyper-parameters in the config's shape, ``{"class_path", "init_args"}``."""
    init_args = {k: v for k, v in hparams.items() if not k.startswith("_")}
    stored = {"class_path": hparams.get("_class_path"), "init_args": init_args}
    return stored if stored["class_path"] is not None else {"init_args": init_args}


def changed_model_settings(requested: Mapping[str, Any], hparams: Mapping[str, Any]) -> List[str]:
    """``name=asked (checkpoint: stored)`` for each model setting both hold with different values.

    A setting only one side has (an option newer or older than the checkpoint) is not put back by
    LightningCLI, so it is not a silent change; a group of settings against ``None`` (``lora: null`` on a LoRA
    checkpoint, or ``lora.rank`` on a full one) is.
    """
    return differences(requested, stored_model_config(hparams), "model")


def check_model_settings(requested: Mapping[str, Any], ckpt: Mapping[str, Any], path: str) -> None:
    """Refuse a config whose model settings differ from the checkpoint's, naming them."""
    hparams = ckpt.get("hyper_parameters") or {}
    changed = changed_model_settings(requested, hparams) if hparams else []
    if changed:
        raise ConfigError(
            "ckpt_path",
            f"{path!r} was trained with other model settings than the config asks: "
            f"{'; '.join(changed)}. A checkpoint keeps its own model settings (trainer, data and "
            "callback options may change on resume): give the run's own config, or start a new run",
        )


def completed_epochs(ckpt: Mapping[str, Any]) -> int:
    """Epochs the checkpoint's fit loop had completed."""
    progress = (ckpt.get("loops") or {}).get("fit_loop", {}).get("epoch_progress", {})
    return int(progress.get("current", {}).get("completed", ckpt.get("epoch", 0)))


def check_unfinished(ckpt: Mapping[str, Any], max_epochs: Optional[int], max_steps: Optional[int], path: str) -> None:
    """Refuse to resume a run that has reached its end (``max_steps`` counts SFD iterations)."""
    iteration = int(ckpt.get("sfd_iteration", ckpt.get("global_step", 0)))
    if max_steps is not None and max_steps > 0 and iteration >= max_steps:
        reached = f"trainer.max_steps={max_steps}"
    elif max_epochs is not None and max_epochs >= 0 and completed_epochs(ckpt) >= max_epochs:
        reached = f"trainer.max_epochs={max_epochs}"
    else:
        return
    raise ConfigError(
        "ckpt_path",
        f"{path!r} is a finished run ({iteration} iterations, {reached} reached): nothing to "
        "train. Raise trainer.max_epochs (an epoch is data.init_args.iterations iterations) or "
        "trainer.max_steps to train on, or evaluate it with `sfd validate --ckpt_path`",
    )
