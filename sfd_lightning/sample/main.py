"""``sfd sample``: write samples of a trained one-step generator (or of a teacher) to an .npz file.

    sfd sample --ckpt runs/.../last.ckpt --labels 0-9 --n-per-label 16 --out samples.npz
    sfd sample --ckpt assets/digits_teacher.pt --steps 50 --labels 0-9 --n-per-label 16 --out teacher.npz
    sfd sample --ckpt runs/.../last.ckpt --prompts-file prompts.txt --n-per-prompt 8 --out s.npz   (text-conditional)

The .npz holds ``images`` (N, C, H, W) float32 in [-1, 1] and ``labels`` (N,) int64 (or ``prompts``
(N,) strings); a PNG grid
with one row per label is written next to it. It runs Lightning's predict loop (``sfd predict`` is the
long form, from a config): under ``torchrun --nproc_per_node N -m sfd_lightning sample ...`` the
blocks are dealt to the processes and rank 0 writes the same file one process would.
"""

import argparse
import math
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from sfd_lightning.callbacks.sample_writer import SampleWriter, check_samples_out
from sfd_lightning.data.labels import parse_labels
from sfd_lightning.data.prompt_files import read_prompt_file
from sfd_lightning.data.sample_blocks import SampleBlocks, block_loader, block_output
from sfd_lightning.data.seeding import check_seed
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.allow_list import add_trust_argument, trust
from sfd_lightning.pipelines.base import Pipeline
from sfd_lightning.pipelines.load import load_pipeline
from sfd_lightning.runtime.memory import available_bytes

# Sampled images are held about three times over while written: the predict loop's blocks, their
# concatenation and the float32 array saved.
COPIES_HELD = 3


class SamplerModule(LightningModule):
    """A loaded pipeline as a LightningModule, so that Lightning's predict loop (one process or torchrun's
    several) draws its blocks."""

    def __init__(self, pipeline: Pipeline, cfg_scale: float = 1.0):
        super().__init__()
        self.pipeline, self.cfg_scale = pipeline, cfg_scale
        self.num_classes = pipeline.num_classes

    def predict_step(self, batch: Dict[str, Any], batch_idx: int) -> Dict[str, Any]:
        # unclamped: block_output refuses NaN/inf images before it clamps
        images = self.pipeline.draw(batch["noise"], batch["conditions"], self.cfg_scale, clamp=False)
        return block_output(batch, images, "--ckpt")


def predict_trainer(device: torch.device, callbacks: List[Callback]) -> Trainer:
    """A Trainer for sampling here, or across torchrun's processes (DDP, one device each)."""
    world, local = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return Trainer(
        accelerator="gpu" if device.type == "cuda" else "cpu",
        devices=local if world > 1 else 1,
        num_nodes=max(1, world // max(local, 1)),
        strategy="ddp" if world > 1 else "auto",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
    )


def check_memory(n_images: int, shape: tuple, n_per_label: int) -> None:
    """Refuse, naming --n-per-label, a request whose images cannot be held in the memory available now."""
    need = n_images * math.prod(shape) * 4 * COPIES_HELD  # float32
    free = available_bytes()
    if free is not None and need > free:
        fits = max(0, n_per_label * free // need)
        raise ConfigError(
            "--n-per-label",
            f"{n_images:,} images of shape {tuple(shape)} need about {need / 1e9:.3g} GB of "
            f"memory to sample and write, but {free / 1e9:.3g} GB is available; use at most "
            f"{fits:,} per label here (several runs with other --seed values give more)",
        )


def check_options(n_per_label: int, steps: int, batch_size: int, cfg_scale: float, seed: int) -> None:
    """The numeric options, checked before any model is loaded."""
    for name, value in (
        ("--n-per-label", n_per_label),
        ("--steps", steps),
        ("--batch-size", batch_size),
    ):
        if value < 1:
            raise ConfigError(name, f"must be >= 1, got {value}")
    if not math.isfinite(cfg_scale):
        raise ConfigError("--cfg-scale", f"must be a finite number, got {cfg_scale}")
    check_seed(seed, "--seed")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sfd sample", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--ckpt",
        required=True,
        help="SFD checkpoint or exported generator folder (one-step EMA generator), "
        "or a teacher asset/checkpoint or a baseline's checkpoint (DDIM, --steps)",
    )
    p.add_argument("--labels", default="0-9", help="labels to sample, e.g. 0-9 or 1,3,5 (default 0-9)")
    p.add_argument(
        "--n-per-label",
        "--n_per_label",
        "--n-per-prompt",
        "--n_per_prompt",
        type=int,
        default=16,
        dest="n_per_label",
        help="samples per label (or per prompt)",
    )
    p.add_argument(
        "--prompts-file",
        "--prompts_file",
        default=None,
        dest="prompts_file",
        help="text-conditional checkpoints: a file with one prompt per line, sampled instead of --labels",
    )
    p.add_argument("--out", default="samples.npz", help="output .npz; a .png grid is written beside it")
    p.add_argument("--overwrite", action="store_true", help="replace --out (and its grid) if there (default: refuse)")
    p.add_argument(
        "--steps",
        type=int,
        default=50,
        help="DDIM steps when --ckpt is a multi-step model: a teacher, DiffusionModule or baseline (default 50)",
    )
    p.add_argument(
        "--cfg-scale", "--cfg_scale", type=float, default=1.0, dest="cfg_scale", help="teacher CFG scale (1: none)"
    )
    p.add_argument(
        "--batch-size", "--batch_size", type=int, default=500, dest="batch_size", help="images per network call"
    )
    p.add_argument("--seed", type=int, default=0, help="noise seed, in [0, 2^64) (default 0)")
    add_trust_argument(p)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device")
    return p


def main(argv: Optional[List[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    sample(
        args.ckpt,
        labels=args.labels,
        n_per_label=args.n_per_label,
        prompts_file=args.prompts_file,
        out=args.out,
        overwrite=args.overwrite,
        steps=args.steps,
        cfg_scale=args.cfg_scale,
        batch_size=args.batch_size,
        seed=args.seed,
        trust_classes=args.trust_classes,
        device=args.device,
    )


def sample(
    ckpt: str,
    *,
    labels: Union[str, Sequence[int]] = "0-9",
    n_per_label: int = 16,
    prompts_file: Optional[str] = None,
    out: str = "samples.npz",
    overwrite: bool = False,
    steps: int = 50,
    cfg_scale: float = 1.0,
    batch_size: int = 500,
    seed: int = 0,
    trust_classes: Optional[str] = None,
    device: Optional[str] = None,
) -> str:
    """``sfd sample``: the arguments are its options (``labels``: a list or text like ``0-9``; ``device``: default
    cuda if there is one). Returns the .npz written (``out``; its grid beside it). Every option is checked before
    the model is loaded."""
    if trust_classes:
        trust(trust_classes)
    check_samples_out(out, "--out", overwrite)
    prompts = read_prompt_file(prompts_file, "--prompts-file") if prompts_file else None
    text = labels if isinstance(labels, str) else ",".join(str(c) for c in labels)
    classes = parse_labels(text) if prompts is None else []
    check_options(n_per_label, steps, batch_size, cfg_scale, seed)
    where = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and where.type == "cuda":
        where = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    sampler = load_pipeline(ckpt, steps=steps, device=where)
    if (prompts is None) != (sampler.num_classes is not None):
        raise ConfigError(
            "--prompts-file", "give it for text-conditional checkpoints, and --labels for class-conditional ones"
        )
    bad = [c for c in classes if not 0 <= c < sampler.num_classes] if prompts is None else []
    if bad:
        raise ConfigError("--labels", f"must be in [0, {sampler.num_classes - 1}], got {bad}")
    check_memory(len(classes if prompts is None else prompts) * n_per_label, sampler.shape, n_per_label)
    if prompts is None:
        y = torch.tensor(classes).repeat_interleave(n_per_label)
    else:
        y = [p for p in prompts for _ in range(n_per_label)]
    blocks = SampleBlocks(y, sampler.shape, batch_size, seed)
    print(f"sampling {len(y)} images of the {sampler.description} ({len(blocks)} blocks of {batch_size})", flush=True)
    writer = SampleWriter(out, n_per_label)
    predict_trainer(where, [writer]).predict(
        SamplerModule(sampler, cfg_scale), block_loader(blocks), return_predictions=False
    )
    return out
