"""The one registry of judges: name -> the judge class, whose ``__init__`` takes its options and whose ``from_spec``
(an attack option's text) and ``add_arguments``/``from_arguments`` (``sfd eval``'s options) build it. Callbacks,
``sfd eval``, ``sfd attack``, ``sfd benchmark`` and ``sfd compare`` look judges up here."""

import argparse
from typing import Dict, List, Optional, Sequence, Type

import torch

from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.classifier import ClassifierJudge
from sfd_lightning.judges.clip_zero_shot import ClipZeroShotJudge
from sfd_lightning.judges.identity import IdentityJudge
from sfd_lightning.judges.nudenet import NudeNetJudge
from sfd_lightning.judges.protocol import ConceptJudge, Judge

JUDGES: Dict[str, Type[Judge]] = {
    "classifier": ClassifierJudge,
    "clip": ClipZeroShotJudge,
    "nudity": NudeNetJudge,
    "identity": IdentityJudge,
}


def judge_class(name: str, field: str) -> Type[Judge]:
    """The judge registered as ``name``; another name is a ConfigError on ``field`` listing the registered ones."""
    if name not in JUDGES:
        raise ConfigError(field, f"unknown judge {name!r}; choose from {', '.join(JUDGES)}")
    return JUDGES[name]


def concept_judges() -> List[str]:
    """The judges that answer whether the concept is present, in registry order: ``sfd eval --metrics``' judges."""
    return [name for name, cls in JUDGES.items() if issubclass(cls, ConceptJudge)]


def add_concept_judge_arguments(p: argparse.ArgumentParser) -> None:
    """Each concept judge's ``sfd eval`` options (the nudity judge has none)."""
    for name in concept_judges():
        JUDGES[name].add_arguments(p)


def build_concept_judges(args: argparse.Namespace, wanted: Sequence[str]) -> Dict[str, ConceptJudge]:
    """The wanted concept judges of ``sfd eval``, built after every other check: every judge's options are checked
    first, then each is built (the identity judge embeds the reference photos here, so a folder without faces is
    refused before any sample is judged)."""
    chosen = [name for name in concept_judges() if name in wanted]
    for name in chosen:
        JUDGES[name].check_arguments(args)
    return {name: JUDGES[name].from_arguments(args) for name in chosen}


def attack_judge(
    text: str,
    field: str,
    role: str,
    forget_class: int,
    device: torch.device,
    class_words: Optional[Sequence[str]] = None,
) -> Judge:
    """An attack's ``--surrogate`` (``surrogate``: a differentiable judge) or ``--judge`` (``judge``: a classifier or a
    concept judge) from its option's text: ``<spelling>[:REST]`` of a registered judge of that role (``clip:MODEL``,
    ``nudenet[:THRESHOLD]``, ``identity:FOLDER``), else the path of an exported classifier asset."""
    kind, colon, _ = text.partition(":")
    label = f"attack judge {role}"
    for cls in JUDGES.values():
        concept = issubclass(cls, ConceptJudge)
        if not cls.spelling or kind != cls.spelling or (role == "judge") != concept:
            continue
        if concept or colon:  # a concept judge's bare spelling takes its defaults (nudenet); clip needs its MODEL
            return cls.from_spec(
                text, field, label=label, forget_class=forget_class, device=device, class_words=class_words
            )
    return ClassifierJudge.from_spec(text, field, label=label, device=device)
