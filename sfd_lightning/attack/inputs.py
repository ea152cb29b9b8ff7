"""``sfd attack``'s inputs from the command line and the run folder: what was forgotten, the embedding
attack's examples of it, and the reference images of the pinpoint FIDs. The run's ``config.yaml`` is read
as data (``yaml.safe_load``) for the prompt runs' concept, prompt pool and class words."""
import argparse
import os
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
import yaml

from sfd_lightning.attack.context import AttackSettings
from sfd_lightning.attack.forget_spec import ForgetSpec, class_spec, prompt_spec
from sfd_lightning.attack.targets import AttackTarget
from sfd_lightning.data.prompt_files import prompts_from, read_prompt_file
from sfd_lightning.errors import ConfigError
from sfd_lightning.metrics.image_sets import open_image_set

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


def spec_of(meta: Dict[str, Any], target: AttackTarget, args: argparse.Namespace) -> ForgetSpec:
    """A class run's forget label from its checkpoint; a prompt run's (its network has no classes) concept, pool
    and class words from the flags or else the run's config."""
    if getattr(target.net, "num_classes", None) is not None:
        if meta.get("forget_label") is None:
            raise ConfigError("--forget-label", f"{args.ckpt!r} records no forget label; give it")
        if args.paraphrases:
            raise ConfigError("--paraphrases", "paraphrases attack prompt-conditional runs; this one is class-conditional")
        return class_spec(int(target.net.num_classes), int(meta["forget_label"]))
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
def examples_of(source: str, spec: ForgetSpec, teacher: AttackTarget, settings: AttackSettings,
                device: torch.device) -> torch.Tensor:
    """``k_examples`` images (K, C, H, W) in [-1, 1] of the forgotten concept: the teacher's samples of the forget
    conditions, or a seeded choice of a labelled image set's images of the forgotten class."""
    k = settings.k_examples
    if source == "teacher":
        g = torch.Generator().manual_seed(settings.seed + 5)
        z = torch.randn((k, *teacher.shape), generator=g).to(device)
        c = spec.forget_conditions(k)
        return teacher.generate(z, c.to(device) if isinstance(c, torch.Tensor) else c)
    images = open_image_set(source, "--examples")
    if images.labels is None:
        raise ConfigError("--examples", f"{source!r} has no labels to find the forgotten class in")
    batch = torch.cat([b for b, _ in images.batches(4096, classes=[spec.forget_class])]).float() / 127.5 - 1
    pick = torch.randperm(len(batch), generator=torch.Generator().manual_seed(settings.seed + 5))[:k]
    chosen = batch[pick]
    if teacher.shape[0] == 1:  # the sets are read as RGB; one-channel models see their mean
        chosen = chosen.mean(dim=1, keepdim=True)
    if tuple(chosen.shape[1:]) != tuple(teacher.shape):
        raise ConfigError("--examples", f"{source!r} images are {tuple(chosen.shape[1:])}, the generator draws {teacher.shape}")
    return chosen.to(device)


def reference_of(source: Optional[str], surrogate: str) -> Tuple[Any, Any]:
    """(labelled real images, the surrogate's feature extractor) for the pinpoint FIDs, or (None, None)."""
    if not source:
        return None, None
    from sfd_lightning.metrics.features import ClassifierFeatures

    images = open_image_set(source, "--reference")
    if images.labels is None:
        raise ConfigError("--reference", f"{source!r} has no labels; the pinpoint FIDs need each class's images")
    return images, ClassifierFeatures(surrogate, "--surrogate")
