"""``load_pipeline``: the one way to load a model you can draw images from, and ``teacher_of``: the teacher it came
from.

An exported folder, an SFD checkpoint (or, with ``hub``, a Hub id holding an exported folder) give the EMA one-step
generator (:class:`OneStepPipeline`); a teacher asset, a DiffusionModule checkpoint (its EMA weights) or a baseline's
checkpoint (ESD, SalUn, Selective Amnesia: the fine-tuned model) give the model's ``steps``-step DDIM
(:class:`MultiStepPipeline`). Networks are rebuilt only from allowed classes (``allow_list``).
"""

import os
from typing import Optional, Union

import torch

from sfd_lightning.io.checkpoint import read_checkpoint
from sfd_lightning.io.folder import generator_of, read_folder
from sfd_lightning.io.sfd_weights import run_teacher
from sfd_lightning.io.source import Source
from sfd_lightning.pipelines.base import Pipeline
from sfd_lightning.pipelines.checkpoints import autoencoder_of, is_one_step, load_multistep, multistep_meta
from sfd_lightning.pipelines.multi_step import MultiStepPipeline
from sfd_lightning.pipelines.one_step import OneStepPipeline, resolve_source

Device = Union[str, torch.device]


def load_pipeline(
    path: str,
    steps: int = 50,
    device: Device = "cpu",
    field: str = "--ckpt",
    hub: bool = False,
    revision: Optional[str] = None,
) -> Pipeline:
    """The model of ``path`` (see the module's docstring), on ``device``; ``steps``: DDIM steps of a multi-step
    model. ``field`` is the option errors name; ``hub``: a ``path`` that is not here is a Hub repository id
    (``revision``). Each pipeline records what it draws with (``sources``), to be fingerprinted."""
    path = resolve_source(path, revision) if hub else path
    source, device = Source(path, field), torch.device(device)
    ckpt = None if os.path.isdir(path) else read_checkpoint(source)
    if ckpt is None or is_one_step(ckpt):
        meta, state = read_folder(source) if ckpt is None else generator_of(ckpt, source)
        pipe = OneStepPipeline.from_parts(meta, state, source, device)
        config = meta["denoiser"]
    else:
        denoiser, what, hparams = load_multistep(ckpt, path, device)
        autoencoder = autoencoder_of(hparams, path, device)
        decode, encode = (None, None) if autoencoder is None else (autoencoder.decode, autoencoder.encode)
        meta = multistep_meta(ckpt, hparams)
        pipe = MultiStepPipeline(denoiser, steps, decode, encode, "model", what, meta, source, autoencoder)
        config = hparams.get("teacher")  # the fine-tuned copy's architecture: a baseline's teacher
    pipe.sources = dict(
        files={field: path}, configs={"denoiser": config, "autoencoder": meta.get("autoencoder")}, field=field
    )
    return pipe


def teacher_of(
    pipeline: Pipeline, teacher_path: Optional[str] = None, steps: int = 50, device: Device = "cpu", what_else: str = ""
) -> MultiStepPipeline:
    """The teacher of a loaded model, by ``steps``-step DDIM: its architecture (``meta["denoiser"]``) with the weights
    of ``teacher_path``, by default the ``teacher_ckpt`` the run recorded, or else the pretrained weights the config
    names (:func:`run_teacher`); decoded and encoded as the model is. ``what_else`` ends the error of a model that
    records no teacher weights."""
    meta = pipeline.meta
    teacher_path = teacher_path or (meta.get("settings") or {}).get("teacher_ckpt")
    teacher = run_teacher(meta["denoiser"], teacher_path, pipeline.source, what_else).to(torch.device(device))
    pipe = MultiStepPipeline(
        teacher,
        steps,
        pipeline.decode,
        pipeline.encode,
        meta=meta,
        source=pipeline.source,
        autoencoder=pipeline.autoencoder,
    )
    pipe.sources = dict(
        files={"teacher_ckpt": teacher_path},
        configs={"teacher": meta["denoiser"], "autoencoder": meta.get("autoencoder")},
        field="--teacher",
    )
    return pipe
