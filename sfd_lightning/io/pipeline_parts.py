"""What a diffusers pipeline folder or hub id holds, read from its ``model_index.json`` and network config only,
so a folder of the wrong family or without a text encoder is refused before any weight is read."""

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

from sfd_lightning.errors import ConfigError, describe


def read_index(pretrained: str, field: str) -> Dict[str, Any]:
    """``model_index.json`` of a pipeline (hub id or local folder): its class and parts."""
    from diffusers import DiffusionPipeline

    try:
        return DiffusionPipeline.load_config(pretrained)
    except (OSError, ValueError) as err:
        raise ConfigError(
            field, f"cannot read the pipeline index (model_index.json) of {pretrained!r}: {describe(err)}"
        ) from None


def read_network_config(cls, pretrained: str, subfolder: Optional[str], field: str) -> Dict[str, Any]:
    """The config.json of a diffusers network (``cls.load_config``), without its weights."""
    try:
        return cls.load_config(pretrained, **({"subfolder": subfolder} if subfolder else {}))
    except (OSError, ValueError) as err:
        raise ConfigError(
            field, f"cannot read {cls.__name__}'s config from {pretrained!r} (subfolder {subfolder!r}): {describe(err)}"
        ) from None


def check_pipeline(
    pretrained: str,
    field: str,
    component: str,
    network: Optional[str],
    network_class: str,
    component_of: Mapping[str, str],
) -> Dict[str, Any]:
    """The index of ``pretrained``, after checking that it is ``component``'s family: its ``network`` part is a
    ``network_class`` (null: the network is built from a config, not read); ``component_of``: the pipeline class a
    hub id or folder declares -> the network that takes it, named in the refusal."""
    index = read_index(pretrained, field)
    declared = index.get("_class_name")
    if network is not None and (index.get(network) or [None, None])[1] != network_class:
        other = component_of.get(declared)
        hint = f"; use {other}" if other and other != component else ""
        raise ConfigError(
            field,
            f"{pretrained!r} is a {declared} (its {network!r} is {index.get(network)!r}), not "
            f"a {network_class} pipeline, which {component} takes{hint}",
        )
    return index


def empty_folders(pretrained: str, parts: Sequence[str]) -> List[str]:
    """The ``parts`` that a local folder ``pretrained`` holds no files for (none of a hub id's): a removed
    ``tokenizer_2/`` that the index still lists would give diffusers a broken tokenizer, not an error."""
    if not os.path.isdir(pretrained):
        return []
    folders = [os.path.join(pretrained, part) for part in parts]
    return [part for part, folder in zip(parts, folders) if not (os.path.isdir(folder) and os.listdir(folder))]


def check_text_parts(
    index: Optional[Dict[str, Any]], pretrained: str, field: str, component: str, text_parts: Sequence[str]
) -> None:
    """Every one of ``text_parts`` (text encoders, tokenizers) is in the pipeline ``index`` of ``pretrained`` (None: a
    folder without one, as Stable Diffusion's may be) and, in a local folder, in a folder of its own."""
    unlisted = [part for part in text_parts if index is not None and not (index.get(part) or [None, None])[1]]
    empty = empty_folders(pretrained, text_parts)
    missing = [part for part in text_parts if part in unlisted or part in empty]
    if missing:
        raise ConfigError(
            field,
            f"{pretrained!r} has no {', '.join(missing)}: {component} needs the pipeline's "
            f"text encoders and tokenizers {', '.join(text_parts)}",
        )
