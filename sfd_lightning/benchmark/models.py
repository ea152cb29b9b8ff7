"""The models a benchmark samples: the model under test (an SFD run's one-step generator, or a baseline's
multi-step model) and the teacher it came from. Each draws images in [-1, 1] from noise, prompts and a guidance
scale (which a one-step generator, its guidance distilled in, does not take)."""

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from sfd_lightning.diffusion.denoiser import Denoiser
from sfd_lightning.diffusion.samplers import sample_ddim
from sfd_lightning.errors import ConfigError
from sfd_lightning.export.pipeline import OneStepPipeline
from sfd_lightning.io.checkpoint import read_checkpoint
from sfd_lightning.io.checkpoint_models import decoder_of, is_one_step, load_multistep
from sfd_lightning.io.fingerprint import weights_fingerprint
from sfd_lightning.io.folder import generator_of, read_folder
from sfd_lightning.io.sfd_weights import run_teacher
from sfd_lightning.io.source import Source

Draw = Callable[[torch.Tensor, List[str], float], torch.Tensor]  # (noise, prompts, guidance) -> images in [-1, 1]


@dataclass
class BenchModel:
    """A sampler under benchmark: ``name`` heads its table row, ``description`` says how it samples."""

    name: str
    description: str
    draw: Draw
    shape: Tuple[int, ...]  # the noise's (C, H, W): latents for latent models
    guided: bool  # whether ``draw`` uses the guidance scale
    sources: Dict[str, Any] = field(default_factory=dict)  # what it draws with: weights_fingerprint's arguments

    def fingerprint(self) -> Dict[str, Any]:
        """Its weights by content (:func:`weights_fingerprint`): a folder of images drawn with other weights is refused."""
        return weights_fingerprint(**self.sources)


def multistep_model(denoiser: Denoiser, decode: Callable, name: str, what: str, steps: int) -> BenchModel:
    """``steps``-step DDIM of a multi-step denoiser (a teacher, a baseline's fine-tuned model), decoded."""
    net = denoiser.net

    @torch.no_grad()
    def draw(noise, prompts, guidance):
        return decode(sample_ddim(denoiser, noise, prompts, steps, guidance)).clamp(-1, 1)

    return BenchModel(name, f"{what}, {steps}-step DDIM", draw, (net.in_channels, net.resolution, net.resolution), True)


def one_step_model(pipe: OneStepPipeline) -> BenchModel:
    @torch.no_grad()
    def draw(noise, prompts, guidance):
        return pipe.decode(pipe.generator(noise, prompts)).clamp(-1, 1)

    return BenchModel("sfd", "one-step EMA generator", draw, tuple(pipe.shape), False)


def teacher_model(
    config: Dict[str, Any],
    teacher_ckpt: Optional[str],
    source: Source,
    decode: Callable,
    steps: int,
    device: torch.device,
) -> BenchModel:
    """The teacher (:func:`run_teacher`: the run's teacher weights, or the pretrained model its config names)."""
    teacher = run_teacher(config, teacher_ckpt, source, ", or leave the teacher out with --models model")
    return multistep_model(teacher.to(device).eval().requires_grad_(False), decode, "teacher", "teacher", steps)


def load_models(
    path: str, teacher_ckpt: Optional[str], steps: int, wanted: Sequence[str], device: torch.device
) -> List[BenchModel]:
    """The ``wanted`` of [the model of ``path`` (``model``), its teacher (``teacher``)]: an SFD checkpoint or exported
    folder gives its one-step generator (``sfd``); a baseline's checkpoint its fine-tuned model by ``steps``-step DDIM.
    Each records the files and configs it draws with (their pretrained folders), to be fingerprinted."""
    source = Source(path, "--ckpt")
    ckpt = None if os.path.isdir(path) else read_checkpoint(source)
    if ckpt is None or is_one_step(ckpt):
        meta, state = read_folder(source) if ckpt is None else generator_of(ckpt, source)
        pipe = OneStepPipeline.from_parts(meta, state, source, device)
        model, config, decode, autoencoder = (
            one_step_model(pipe),
            meta["denoiser"],
            pipe.decode,
            meta.get("autoencoder"),
        )
        recorded = (meta.get("settings") or {}).get("teacher_ckpt")
        num_classes = pipe.num_classes
    else:
        denoiser, what, hparams = load_multistep(ckpt, path, device)
        decode = decoder_of(hparams, path, device)
        name = what.removesuffix("Module")  # ESDModule -> ESD: the table's row
        model = multistep_model(denoiser, decode, name, name, steps)
        config, recorded, num_classes = hparams.get("teacher"), hparams.get("teacher_ckpt"), denoiser.net.num_classes
        autoencoder = hparams.get("autoencoder")
    if num_classes is not None:
        raise ConfigError(
            "--ckpt",
            f"{path!r} is class-conditional; sfd benchmark judges prompt-conditioned models "
            "(use sfd eval and sfd attack for class-conditional ones)",
        )
    model.sources = dict(
        files={"--ckpt": path}, configs={"denoiser": config, "autoencoder": autoencoder}, field="--ckpt"
    )
    models = [model]
    if "teacher" in wanted:
        teacher = teacher_model(config, teacher_ckpt or recorded, source, decode, steps, device)
        teacher.sources = dict(
            files={"teacher_ckpt": teacher_ckpt or recorded},
            configs={"teacher": config, "autoencoder": autoencoder},
            field="--teacher",
        )
        models.append(teacher)
    return [m for m, name in zip(models, ("model", "teacher")) if name in wanted]
