"""What a diffusers pipeline folder or hub id holds, read from its ``model_index.json`` and network config only,
so a folder of the wrong family or without a text encoder is refused before any weight is read."""
from typing import Any, Dict, Optional, Sequence

from sfd_lightning.errors import ConfigError, describe

# the pipeline class a hub id or folder declares -> the network component of this package that takes it
COMPONENT_OF = {"StableDiffusionPipeline": "SDUNet", "StableDiffusionXLPipeline": "SDXLUNet",
                "StableDiffusion3Pipeline": "SD3Transformer", "FluxPipeline": "FluxTransformer", "DiTPipeline": "DiTEps"}


def read_index(pretrained: str, field: str) -> Dict[str, Any]:
    """``model_index.json`` of a pipeline (hub id or local folder): its class and parts."""
    from diffusers import DiffusionPipeline

    try:
        return DiffusionPipeline.load_config(pretrained)
    except (OSError, ValueError) as err:
        raise ConfigError(field, f"cannot read the pipeline index (model_index.json) of {pretrained!r}: "
                                 f"{describe(err)}") from None


def read_network_config(cls, pretrained: str, subfolder: Optional[str], field: str) -> Dict[str, Any]:
    """The config.json of a diffusers network (``cls.load_config``), without its weights."""
    try:
        return cls.load_config(pretrained, **({"subfolder": subfolder} if subfolder else {}))
    except (OSError, ValueError) as err:
        raise ConfigError(field, f"cannot read {cls.__name__}'s config from {pretrained!r} (subfolder {subfolder!r}): "
                                 f"{describe(err)}") from None


def check_pipeline(pretrained: str, field: str, component: str, network: Optional[str], network_class: str) -> Dict[str, Any]:
    """The index of ``pretrained``, after checking that it is ``component``'s family: its ``network`` part is a
    ``network_class`` (null: the network is built from a config, not read)."""
    index = read_index(pretrained, field)
    declared = index.get("_class_name")
    if network is not None and (index.get(network) or [None, None])[1] != network_class:
        other = COMPONENT_OF.get(declared)
        hint = f"; use {other}" if other and other != component else ""
        raise ConfigError(field, f"{pretrained!r} is a {declared} (its {network!r} is {index.get(network)!r}), not "
                                 f"a {network_class} pipeline, which {component} takes{hint}")
    return index


def check_text_parts(index: Dict[str, Any], pretrained: str, field: str, component: str, text_parts: Sequence[str]) -> None:
    """Every one of ``text_parts`` (text encoders, tokenizers) is in the pipeline ``index`` of ``pretrained``."""
    missing = [part for part in text_parts if not (index.get(part) or [None, None])[1]]
    if missing:
        raise ConfigError(field, f"{pretrained!r} has no {', '.join(missing)}: {component} needs the pipeline's "
                                 f"text encoders and tokenizers {', '.join(text_parts)}")
