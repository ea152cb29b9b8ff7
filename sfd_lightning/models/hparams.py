"""What every LightningModule here does with its ``__init__`` arguments: hyperparameters that checkpoints can hold
under ``torch.load(weights_only=True)``, and the default optimiser where a config gives none."""

import dataclasses
from typing import Callable, Iterable, Optional

import torch
from lightning.pytorch import LightningModule

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # grouped settings: their fields
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    cls = value if isinstance(value, type) else type(value)
    return f"<{cls.__module__}.{cls.__qualname__}>"


def save_plain_hyperparameters(module: LightningModule) -> None:
    """``save_hyperparameters`` with live objects (networks, optimiser factories) replaced by their class name.

    Under ``sfd fit`` the hyperparameters are already the YAML's plain values; objects only appear
    when a module is built in Python, and pickling them would make the checkpoint unloadable with
    ``weights_only=True``.

    They are not sent to the logger: ``sfd fit`` logs the whole resolved config instead, one dotted
    name per option (``model.init_args.alpha``), so a hyper-parameter is not in the run config twice.
    """
    import inspect

    module.save_hyperparameters(frame=inspect.currentframe().f_back, logger=False)
    for store in (module._hparams, module._hparams_initial):
        for key in list(store):
            store[key] = _plain(store[key])


def adam_or(factory: Optional[OptimizerFactory], lr: float, betas=(0.0, 0.999), eps: float = 1e-8) -> OptimizerFactory:
    """The given factory, or Adam with the reference's betas (0, 0.999)."""
    if factory is not None:
        return factory
    return lambda params: torch.optim.Adam(params, lr=lr, betas=betas, eps=eps)
