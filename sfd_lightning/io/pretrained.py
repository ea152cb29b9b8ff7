"""Loading diffusers / transformers models from a hub id or a local folder, or building them from a config."""

from typing import Any, Dict, Optional

from sfd_lightning.errors import ConfigError, describe


def load_pretrained(cls, pretrained: str, subfolder: Optional[str], field: str, **kwargs: Any):
    """``cls.from_pretrained`` (with ``kwargs``) from a hub id or a local folder, with a one-line error naming
    ``field``."""
    try:
        return cls.from_pretrained(pretrained, **({"subfolder": subfolder} if subfolder else {}), **kwargs)
    except (OSError, ValueError) as err:
        raise ConfigError(
            field, f"cannot load {cls.__name__} from {pretrained!r} (subfolder {subfolder!r}): {describe(err)}"
        ) from None


def pretrained_or_new(
    cls, pretrained: Optional[str], subfolder: Optional[str], config: Optional[Dict[str, Any]], field: str
):
    """Exactly one of ``pretrained`` (loaded) and ``config`` (a randomly initialised ``cls(**config)``)."""
    if (pretrained is None) == (config is None):
        raise ConfigError(field, "give exactly one of pretrained (hub id or folder) and config")
    return load_pretrained(cls, pretrained, subfolder, field) if pretrained is not None else cls(**config)
