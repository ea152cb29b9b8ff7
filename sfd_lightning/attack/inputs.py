"""``sfd attack``'s inputs from the command line and the run folder: what was forgotten, the embedding
attack's examples of it, and the reference images of the pinpoint FIDs. The run's ``config.yaml`` is read
as data (``yaml.safe_load``) for the prompt runs' concept, prompt pool and class words."""

import argparse
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
import yaml

from sfd_lightning.attack.forget_spec import ForgetSpec, class_spec, prompt_spec
from sfd_lightning.attack.registry import AttackSettings, needs
from sfd_lightning.data.prompt_files import prompts_from, read_prompt_file
from sfd_lightning.errors import ConfigError
from sfd_lightning.metrics.image_sets import ImageSet, open_image_set
from sfd_lightning.pipelines.base import Pipeline
from sfd_lightning.pipelines.one_step import OneStepPipeline

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def run_folder(ckpt: str) -> Optional[str]:
    """``<run>`` of ``<run>/checkpoints/*.ckpt`` (sfd fit's layout), else None."""
    path = Path(ckpt).resolve()
    return str(path.parents[1]) if path.is_file() and path.parent.name == "checkpoints" else None


def run_config(ckpt: str) -> Dict[str, Any]:
    folder = run_folder(ckpt)
    config = os.path.join(folder, "config.yaml") if folder else None
    if not config or not os.path.isfile(config):
        return {}
    with open(config) as f:
        return yaml.safe_load(f) or {}


def _class_words(config: Dict[str, Any]) -> Optional[list]:
    for callback in (config.get("trainer") or {}).get("callbacks") or []:
        if isinstance(callback, dict) and "class_words" in (callback.get("init_args") or {}):
            return list(callback["init_args"]["class_words"])
    return None


def attack_target(pipe: Pipeline) -> Pipeline:
    """A loaded model under the name the attack reports give it: a one-step generator is ``sfd`` (the "SFD one-step
    generator"), a multi-step model keeps its own (``teacher``, or ``model`` for a checkpoint's)."""
    return pipe.named("sfd", "SFD one-step generator") if isinstance(pipe, OneStepPipeline) else pipe


def attacked_class(recorded: Any, chosen: Optional[int]) -> Tuple[int, List[int]]:
    """(the class attacked, every class the generator forgets): ``--forget-label`` or the one recorded; a generator
    that forgets several is attacked one class at a time, named by ``--forget-label``."""
    forgotten = [int(c) for c in recorded] if isinstance(recorded, list) else [int(recorded)]
    if chosen is None and len(forgotten) > 1:
        raise ConfigError(
            "--forget-label",
            f"this generator forgets classes {', '.join(map(str, forgotten))}; attack one at a time (--forget-label "
            f"{forgotten[0]})",
        )
    return (forgotten[0] if chosen is None else chosen), forgotten


def spec_of(meta: Dict[str, Any], target: Pipeline, args: argparse.Namespace) -> ForgetSpec:
    """A class run's forget label from its checkpoint; a prompt run's (its network has no classes) concept, pool
    and class words from the flags or else the run's config."""
    if getattr(target.net, "num_classes", None) is not None:
        recorded = meta.get("forget_label")
        if recorded is None and args.forget_label is None:
            raise ConfigError("--forget-label", f"{args.ckpt!r} records no forget label; give it")
        if args.paraphrases:
            raise ConfigError(
                "--paraphrases", "paraphrases attack prompt-conditional runs; this one is class-conditional"
            )
        recorded = args.forget_label if recorded is None else recorded  # a teacher's or a retrained model's: none
        return class_spec(int(target.net.num_classes), *attacked_class(recorded, args.forget_label))
    config = run_config(args.ckpt)
    data = ((config.get("data") or {}).get("init_args")) or {}
    concept = args.concept or data.get("concept")
    pool_source = args.prompts or data.get("retained_prompts")
    if not pool_source:
        raise ConfigError("--prompts", "give the prompt file to split by the concept (the run's retained_prompts)")
    pool = read_prompt_file(args.prompts, "--prompts") if args.prompts else prompts_from(pool_source, "--prompts")
    words = args.class_words.split(",") if args.class_words else (_class_words(config) or list(DIGIT_WORDS))
    paraphrases = read_prompt_file(args.paraphrases, "--paraphrases") if args.paraphrases else []
    return prompt_spec(pool, concept or "", [w.strip() for w in words], paraphrases)


@torch.no_grad()
def examples_of(
    source: str, spec: ForgetSpec, teacher: Pipeline, settings: AttackSettings, device: torch.device
) -> torch.Tensor:
    """``k_examples`` images (K, C, H, W) in [-1, 1] of the forgotten concept: the teacher's samples of the forget
    conditions, or a seeded choice of a labelled image set's images of the forgotten class."""
    k = settings.k_examples
    if source == "teacher":
        g = torch.Generator().manual_seed(settings.seed + 5)
        z = torch.randn((k, *teacher.shape), generator=g).to(device)
        c = spec.forget_conditions(k)
        return teacher.generate(z, c.to(device) if isinstance(c, torch.Tensor) else c)
    return _images_of(_labelled(source), source, spec.forget_class, teacher.shape, settings.seed + 5, k).to(device)


@torch.no_grad()
def retained_examples_of(
    source: str, spec: ForgetSpec, teacher: Pipeline, settings: AttackSettings, device: torch.device
) -> Tuple[torch.Tensor, Any]:
    """``k_examples`` (images in [-1, 1], their conditions) of the retained classes, spread over them: the teacher's
    samples of retained conditions, or a seeded choice of a labelled image set's retained-class images, each with a
    retained condition of its class (the label, or a retained prompt naming it)."""
    k = settings.k_examples
    if source == "teacher":
        conditions, _ = spec.retained_conditions(k)
        g = torch.Generator().manual_seed(settings.seed + 6)
        z = torch.randn((k, *teacher.shape), generator=g).to(device)
        return teacher.generate(
            z, conditions.to(device) if isinstance(conditions, torch.Tensor) else conditions
        ), conditions
    classes, images = spec.retained_classes(), _labelled(source)
    per_class = [
        _images_of(images, source, cls, teacher.shape, settings.seed + 6, -(-k // len(classes))) for cls in classes
    ]
    chosen = [(per_class[i % len(classes)][i // len(classes)], classes[i % len(classes)]) for i in range(k)]
    images = torch.stack([image for image, _ in chosen]).to(device)
    conditions = [spec.class_conditions(cls, 1) for _, cls in chosen]
    if isinstance(conditions[0], torch.Tensor):
        return images, torch.cat(conditions)
    return images, [c[0] for c in conditions]


def attack_examples(
    source: str, spec: ForgetSpec, teacher: Pipeline, settings: AttackSettings, device: torch.device
) -> Tuple[Optional[torch.Tensor], Optional[Tuple[torch.Tensor, Any]]]:
    """(examples of the forgotten concept, retained examples with their conditions), each only if an attack of
    ``settings`` needs it (``Attack.needs``: the embedding and relearning attacks the former, benign relearning the
    latter)."""
    needed = needs(settings)
    examples = examples_of(source, spec, teacher, settings, device) if "examples" in needed else None
    retained = retained_examples_of(source, spec, teacher, settings, device) if "retained" in needed else None
    return examples, retained


def _labelled(source: str) -> ImageSet:
    """``--examples`` as a labelled image set."""
    images = open_image_set(source, "--examples")
    if images.labels is None:
        raise ConfigError("--examples", f"{source!r} has no labels to find the classes in")
    return images


def _images_of(images: ImageSet, source: str, cls: int, shape: Tuple[int, ...], seed: int, k: int) -> torch.Tensor:
    """``k`` of the set's images of class ``cls`` in [-1, 1], a seeded choice (only those are read), shaped like the
    model's."""
    index = np.flatnonzero(images.labels == cls)
    chosen = index[torch.randperm(len(index), generator=torch.Generator().manual_seed(seed))[:k].numpy()]
    batch = images.read(chosen).float() / 127.5 - 1
    if shape[0] == 1:  # the sets are read as RGB; one-channel models see their mean
        batch = batch.mean(dim=1, keepdim=True)
    if tuple(batch.shape[1:]) != tuple(shape):
        raise ConfigError("--examples", f"{source!r} images are {tuple(batch.shape[1:])}, the generator draws {shape}")
    return batch


def reference_of(source: Optional[str], surrogate: str) -> Tuple[Any, Any]:
    """(labelled real images, the surrogate's feature extractor) for the pinpoint FIDs, or (None, None)."""
    if not source:
        return None, None
    from sfd_lightning.metrics.features import ClassifierFeatures

    images = open_image_set(source, "--reference")
    if images.labels is None:
        raise ConfigError("--reference", f"{source!r} has no labels; the pinpoint FIDs need each class's images")
    return images, ClassifierFeatures(surrogate, "--surrogate")
