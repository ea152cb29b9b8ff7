"""The model families read from a diffusers pipeline, found from the network classes themselves.

A family's network derives from :class:`PipelineFamily` and declares, as class attributes, the pipeline class
whose folders and hub ids it takes (and, for a :class:`~sfd_lightning.models.components.pipeline_network.
PipelineNetwork`, its network part and that part's class). The tables the layers below read are made here from
those declarations: the family check's hint (which network takes a pipeline of another family,
``io/pipeline_parts.py``) and the model card's stock-diffusers recipe (``export/family_recipes.py``), so adding a
family adds no line to either. ``models/components/__init__.py`` imports every family, and Python runs it before
any of its modules, so the table is whole as soon as any network class exists.
"""

from typing import Dict, List


class PipelineFamily:
    """A network read from a diffusers pipeline: ``pipeline_class`` names that pipeline's class."""

    pipeline_class: str  # diffusers pipeline class, e.g. "StableDiffusion3Pipeline"


def families() -> List[type]:
    """Every network class declaring a ``pipeline_class`` of its own (a subclass of one that declares none is the
    same family)."""
    found, todo = [], list(PipelineFamily.__subclasses__())
    while todo:
        cls = todo.pop(0)
        if "pipeline_class" in vars(cls) and cls not in found:
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def component_of() -> Dict[str, str]:
    """The pipeline class a hub id or folder declares -> the network of this package that takes it."""
    return {cls.pipeline_class: cls.__name__ for cls in families()}
