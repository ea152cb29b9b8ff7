"""The models a benchmark samples (``pipelines``): the model under test (an SFD run's one-step generator, or a
baseline's multi-step model) and the teacher it came from. Each draws images in [-1, 1] from noise, prompts and a
guidance scale (which a one-step generator, its guidance distilled in, does not take)."""

from typing import List, Optional, Sequence

import torch

from sfd_lightning.errors import ConfigError
from sfd_lightning.pipelines.base import Pipeline
from sfd_lightning.pipelines.load import load_pipeline, teacher_of
from sfd_lightning.pipelines.multi_step import MultiStepPipeline


def benchmark_models(
    path: str, teacher_ckpt: Optional[str], steps: int, wanted: Sequence[str], device: torch.device
) -> List[Pipeline]:
    """The ``wanted`` of [the model of ``path`` (``model``), its teacher (``teacher``)]: an SFD checkpoint or exported
    folder gives its one-step generator (``sfd``); a baseline's checkpoint its fine-tuned model by ``steps``-step DDIM
    (its row named after the baseline: ESDModule -> ESD). Each records the files and configs it draws with."""
    model = load_pipeline(path, steps=steps, device=device)
    if isinstance(model, MultiStepPipeline):
        name = model.what.removesuffix("Module")
        model = model.named(name, f"{name}, {steps}-step DDIM")
    if model.num_classes is not None:
        raise ConfigError(
            "--ckpt",
            f"{path!r} is class-conditional; sfd benchmark judges prompt-conditioned models "
            "(use sfd eval and sfd attack for class-conditional ones)",
        )
    models = [model]
    if "teacher" in wanted:
        models.append(teacher_of(model, teacher_ckpt, steps, device, ", or leave the teacher out with --models model"))
    return [m for m, name in zip(models, ("model", "teacher")) if name in wanted]
