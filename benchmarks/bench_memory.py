"""``make bench-memory``: peak memory and seconds of one SFD iteration at full size, full fine-tuning against LoRA.

Random weights of the real architectures, built from their published configurations (no download): Stable
Diffusion 1.5's UNet with a CLIP-L-size text encoder (latents 4x64x64, batch 1 + 1 prompts), DiT-XL/2-256 (latents
4x32x32, batch 1 + 1), the CIFAR-10 DDPM UNet (batch 128 + 128), and SDXL 1.0's UNet, SD3-medium's and FLUX.1-dev's
transformers (1024 px: latents 4x128x128 or 16x128x128, batch 1 + 1). The last three are measured with one-layer text
encoders of the real widths (a random T5-XXL is 19 GB to write); the arithmetic counts the real ones, frozen, in the
configs' dtype (SDXL float32, SD3 and FLUX bfloat16). Each runs one warm-up and one timed SFD iteration inside
``Trainer.fit`` in a process of its own, in three modes:

- full fp32: the reference's way (three trained copies of the teacher plus the EMA, Adam on two);
- full bf16: the same under ``bf16-mixed`` autocast (float32 weights and Adam states, bfloat16 activations);
- LoRA bf16: ``model.lora`` (its default rank, every Linear and Conv2d) on one bfloat16 base, ``bf16-mixed``, gradient
  checkpointing on.

It prints, per row, the parameter and optimiser arithmetic (weights, Adam states, gradients, before any activation)
and the measured peak of the iteration (after the networks are built): the process's peak resident memory on a CPU,
CUDA's peak allocation on a GPU; the peak while building (float32 weights read before a bfloat16 cast) beside it.
A row whose arithmetic alone exceeds the machine's memory is not run; its arithmetic is printed instead.

    python -m benchmarks.bench_memory [--device cuda] [--cases sd15,dit,cifar10,sdxl,sd3,flux] [--out bench_memory.json]
    python -m benchmarks.bench_memory --arithmetic-only       (the arithmetic rows alone, seconds)
    python -m benchmarks.bench_memory --tiny        (the same code paths on tiny networks, for tests)
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
from torch import nn

from sfd_lightning.models.lora import LoRA

GIB = 2**30
MODES = {  # name: (trainer precision, LoRA, gradient checkpointing)
    "full fp32": ("32-true", False, False),
    "full bf16": ("bf16-mixed", False, False),
    "LoRA bf16": ("bf16-mixed", True, True),
}
RANK = LoRA().rank  # the default


@dataclass
class Case:
    title: str
    network: Callable[[bool, Optional[str]], nn.Module]  # (gradient checkpointing, SD folder) -> the network
    shape: tuple
    batch: int
    num_classes: Optional[int]  # None: prompts
    skeleton: Callable[[], tuple]  # (the trained network, the frozen text encoder(s) or None), built on the meta device
    flow: bool = False  # a rectified-flow network (FlowDenoiser) rather than a VP one
    text_bytes: int = 4  # bytes a frozen text-encoder parameter takes (the configs' text_encoder_dtype)


def cases(tiny: bool) -> Dict[str, Case]:
    from random_pipelines import SD15_TEXT, SD15_UNET

    from benchmarks.gpu_check import CIFAR10_UNET, DIT_XL_2, TINY_DIT, TINY_UNET
    from sfd_lightning.models.components import DDPMUNet, DiTEps, SDUNet

    unet, dit, sd = (TINY_UNET, TINY_DIT, tiny_sd_unet()) if tiny else (CIFAR10_UNET, DIT_XL_2, SD15_UNET)
    text = tiny_text() if tiny else SD15_TEXT

    def sd_skeleton():
        from diffusers import UNet2DConditionModel
        from transformers import CLIPTextConfig, CLIPTextModel

        return UNet2DConditionModel(**sd), CLIPTextModel(CLIPTextConfig(vocab_size=49408, **text))

    return {
        "sd15": Case(
            f"{'SD (tiny)' if tiny else 'SD 1.5'} UNet + CLIP text encoder, latents 4x{sd['sample_size']}x"
            f"{sd['sample_size']}, batch 1+1",
            lambda ckpt, folder: SDUNet(pretrained=f"{folder}/sd15", unet_config=sd, gradient_checkpointing=ckpt),
            (4, sd["sample_size"], sd["sample_size"]),
            1,
            None,
            sd_skeleton,
        ),
        "dit": Case(
            f"{'DiT (tiny)' if tiny else 'DiT-XL/2-256'}, batch 1+1",
            lambda ckpt, folder: DiTEps(pretrained=None, config=dit, gradient_checkpointing=ckpt),
            (4, dit["sample_size"], dit["sample_size"]),
            1,
            1000,
            lambda: (DiTEps(pretrained=None, config=dit), None),
        ),
        "cifar10": Case(
            f"{'tiny' if tiny else 'CIFAR-10'} DDPM UNet, batch {8 if tiny else 128}+{8 if tiny else 128}",
            lambda ckpt, folder: DDPMUNet(**unet, gradient_checkpointing=ckpt),
            (3, unet["resolution"], unet["resolution"]),
            8 if tiny else 128,
            10,
            lambda: (DDPMUNet(**unet), None),
        ),
        **family_cases(tiny),
    }


def family_cases(tiny: bool) -> Dict[str, Case]:
    """SDXL, SD3 and FLUX.1 at 1024 px (tiny: their tiny test networks), batch 1 + 1 prompts."""
    import random_families as rf

    from sfd_lightning.models.components import FluxTransformer, SD3Transformer, SDXLUNet

    sdxl, sd3, flux = (
        (rf.TINY_SDXL_UNET, rf.TINY_SD3_TRANSFORMER, rf.TINY_FLUX_TRANSFORMER)
        if tiny
        else (rf.SDXL_UNET_FULL, rf.SD3_TRANSFORMER_FULL, rf.FLUX_TRANSFORMER_FULL)
    )
    clip_l, clip_g, t5 = (rf.TINY_CLIP,) * 2 + (rf.TINY_T5,) if tiny else (rf.CLIP_L, rf.CLIP_G, rf.T5_XXL)
    size = 8 if tiny else 128

    def texts(*configs):
        from transformers import CLIPTextConfig, CLIPTextModelWithProjection, T5Config, T5EncoderModel

        return nn.ModuleList(
            T5EncoderModel(T5Config(vocab_size=32128, **c))
            if "d_model" in c
            else CLIPTextModelWithProjection(CLIPTextConfig(vocab_size=49408, **c))
            for c in configs
        )

    def skeleton(cls_name: str, config: Dict, *text_configs):
        import diffusers

        return lambda: (getattr(diffusers, cls_name)(**config), texts(*text_configs))

    name = "(tiny)" if tiny else "1024 px"
    return {
        "sdxl": Case(
            f"SDXL UNet {name}, latents 4x{size}x{size}, batch 1+1",
            lambda ckpt, folder: SDXLUNet(
                pretrained=f"{folder}/sdxl", network_config=sdxl, gradient_checkpointing=ckpt
            ),
            (4, size, size),
            1,
            None,
            skeleton("UNet2DConditionModel", sdxl, clip_l, clip_g),
        ),
        "sd3": Case(
            f"SD3-medium transformer {name}, latents {sd3['in_channels']}x{size}x{size}, batch 1+1",
            lambda ckpt, folder: SD3Transformer(
                pretrained=f"{folder}/sd3",
                network_config=sd3,
                gradient_checkpointing=ckpt,
                text_encoder_dtype="bfloat16",
            ),
            (sd3["in_channels"], size, size),
            1,
            None,
            skeleton("SD3Transformer2DModel", sd3, clip_l, clip_g, t5),
            flow=True,
            text_bytes=2,
        ),
        "flux": Case(
            f"FLUX.1-dev transformer {name}, latents {flux['in_channels'] // 4}x{size}x{size}, batch 1+1",
            lambda ckpt, folder: FluxTransformer(
                pretrained=f"{folder}/flux",
                network_config=flux,
                resolution=size,
                gradient_checkpointing=ckpt,
                text_encoder_dtype="bfloat16",
            ),
            (flux["in_channels"] // 4, size, size),
            1,
            None,
            skeleton("FluxTransformer2DModel", flux, clip_l, t5),
            flow=True,
            text_bytes=2,
        ),
    }


def write_folders(folder: Path, tiny: bool, keys: List[str]) -> None:
    """The pipelines the prompt cases read their text side from, under ``folder``: SD 1.5's with a CLIP-L-size
    text encoder; the families' with text encoders of the real widths but one layer (tiny: the tiny test ones).
    Their networks are built from the configurations: a tiny one stands in on disk."""
    import random_families as rf
    from random_pipelines import SD15_TEXT, write_random_sd

    one = dict(num_hidden_layers=1)
    clip_l, clip_g = (rf.TINY_CLIP, rf.TINY_CLIP) if tiny else (dict(rf.CLIP_L, **one), dict(rf.CLIP_G, **one))
    t5 = rf.TINY_T5 if tiny else dict(rf.T5_XXL, num_layers=1)
    writers = {
        "sd15": lambda f: write_random_sd(f, tiny_sd_unet(), tiny_text() if tiny else SD15_TEXT),
        "sdxl": lambda f: rf.write_random_sdxl(f, clip_l=clip_l, clip_g=clip_g, vae=None),
        "sd3": lambda f: rf.write_random_sd3(f, clip_l=clip_l, clip_g=clip_g, t5=t5, vae=None),
        "flux": lambda f: rf.write_random_flux(f, clip_l=clip_l, t5=t5, vae=None),
    }
    for key in keys:
        if key in writers:
            writers[key](folder / key)


def tiny_sd_unet() -> Dict:
    from random_pipelines import SD15_UNET

    return dict(
        SD15_UNET,
        sample_size=8,
        block_out_channels=(16, 32),
        norm_num_groups=8,
        cross_attention_dim=16,
        attention_head_dim=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        layers_per_block=1,
    )


def tiny_text() -> Dict:
    from random_pipelines import SD15_TEXT

    return dict(
        SD15_TEXT, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2, projection_dim=16
    )


# ----------------------------------------------------------------------------- arithmetic
def counts(case: Case) -> Dict[str, int]:
    """Parameters of the network (built on the meta device: nothing allocated), of the frozen text encoder, and of
    rank-``RANK`` LoRA adapters on it."""
    with torch.device("meta"):
        net, text = case.skeleton()
    adapted = LoRA(rank=RANK).targets(net)
    layers = dict(net.named_modules())
    adapters = 0
    for name in adapted:
        layer = layers[name]
        if isinstance(layer, nn.Linear):
            adapters += RANK * (layer.in_features + layer.out_features)
        else:  # Conv2d: A is in x r x k x k, B is r x out x 1 x 1
            adapters += RANK * (layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1] + layer.out_channels)
    return {
        "network": sum(p.numel() for p in net.parameters()),
        "text_bytes": case.text_bytes,
        "text_encoder": sum(p.numel() for p in text.parameters()) if text is not None else 0,
        "adapters": adapters,
    }


def arithmetic(n: Dict[str, int], lora: bool) -> Dict[str, float]:
    """GiB before any activation. Full: teacher, fake score, generator and EMA in float32, Adam's two states and the
    gradients of the fake score and the generator. LoRA: one bfloat16 base; float32 adapters x 4 (two trained, the
    EMA, their gradients) and Adam's states on the two trained ones."""
    if lora:
        weights = 2 * n["network"] + 4 * 3 * n["adapters"]
        adam, grads = 4 * 2 * 2 * n["adapters"], 4 * 2 * n["adapters"]
    else:
        weights, adam, grads = 4 * 4 * n["network"], 4 * 2 * 2 * n["network"], 4 * 2 * n["network"]
    text = n.get("text_bytes", 4) * n["text_encoder"]
    out = {"weights": weights / GIB, "text_encoder": text / GIB, "adam": adam / GIB, "grads": grads / GIB}
    out["total"] = sum(out.values())
    return out


# ----------------------------------------------------------------------------- one measured iteration
def one_iteration(key: str, mode: str, device: str, tiny: bool, folder: Optional[str]) -> Dict[str, float]:
    """One warm-up and one timed SFD iteration of ``key`` in ``mode`` (run in a process of its own)."""
    from lightning.pytorch import Trainer

    from benchmarks.timing import IterationTimer

    module, data, precision, built = build_iteration(key, mode, device, tiny, folder, iterations=2)
    timer = IterationTimer(warmup=1)
    reset_peak(device)  # what follows is the iteration's own peak (building reads float32 weights first)
    Trainer(
        accelerator=device,
        devices=1,
        precision=precision,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    ).fit(module, datamodule=data)
    return {"s_per_iteration": timer.times[0], "peak_GiB": peak_gib(device), "built_GiB": built}


def build_iteration(key: str, mode: str, device: str, tiny: bool, folder: Optional[str], iterations: int, **options):
    """The SFD module of row (``key``, ``mode``), its data of ``iterations`` batches, the trainer's precision and the
    peak GiB while building. The network is built straight on ``device``: a 12B-parameter network initialised on the
    host takes minutes. ``options`` go to ``SFDModule`` (``robust``, ``compile``)."""
    from benchmarks.gpu_check import RETAINED
    from sfd_lightning.data import NoiseLabelDataModule, PromptDataModule
    from sfd_lightning.diffusion import FlowDenoiser, FlowSchedule, VPDenoiser
    from sfd_lightning.models import SFDModule

    precision, lora, checkpointing = MODES[mode]
    case = cases(tiny)[key]
    try:
        with torch.device(device):
            net = case.network(checkpointing, folder)
    except Exception as err:  # a loader that insists on the host: build there (slower), and say so
        print(
            f"bench-memory: building {key} on {device} failed ({type(err).__name__}: {err}); building on the host",
            file=sys.stderr,
            flush=True,
        )
        net = case.network(checkpointing, folder)
    teacher = FlowDenoiser(net, FlowSchedule(shift=3.0)) if case.flow else VPDenoiser(net)
    module = SFDModule(
        teacher=teacher,
        num_classes=case.num_classes or 10,
        forget_label=0,
        override_label=1,
        ema_decay=0.999,
        lora=LoRA(rank=RANK, base_dtype="bfloat16") if lora else None,
        **options,
    )
    if case.num_classes is None:
        data = PromptDataModule(
            shape=case.shape,
            batch_size=case.batch,
            iterations=iterations,
            retained_prompts=RETAINED,
            forget_prompts=["a photo of brad pitt"],
            concept="brad pitt",
            replacement="a middle aged man",
        )
    else:
        data = NoiseLabelDataModule(
            shape=case.shape, batch_size=case.batch, iterations=iterations, num_classes=case.num_classes, forget_label=0
        )
    return module, data, precision, peak_gib(device)


def peak_gib(device: str) -> float:
    """CUDA's peak allocation, or the process's peak resident memory since the last :func:`reset_peak`."""
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / GIB
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) * 1024 / GIB
    except (OSError, StopIteration):  # not Linux: the process's peak so far
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


def reset_peak(device: str) -> None:
    """Start the peak over from now (Linux: writing 5 to clear_refs resets the resident high-water mark)."""
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        return
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def available_gib(device: str) -> float:
    if device == "cuda":
        return torch.cuda.get_device_properties(0).total_memory / GIB
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB


def measure(key: str, mode: str, device: str, tiny: bool, folder: Optional[str], timeout: int) -> Dict:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.bench_memory",
        "--one",
        key,
        mode,
        "--device",
        device,
        *(["--tiny"] if tiny else []),
        *(["--folder", folder] if folder else []),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        errors = [line for line in proc.stderr.splitlines() if "Error" in line] or ["no error printed"]
        killed = " (killed: out of memory)" if proc.returncode in (-9, 137) else ""
        return {"error": f"exit {proc.returncode}{killed}: {errors[-1].strip()[:160]}"}
    return json.loads(lines[-1])


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_memory",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument(
        "--cases", default="sd15,dit,cifar10,sdxl,sd3,flux", help="comma-separated: sd15, dit, cifar10, sdxl, sd3, flux"
    )
    p.add_argument("--modes", default=",".join(MODES), help="comma-separated: " + ", ".join(MODES))
    p.add_argument("--tiny", action="store_true", help="tiny networks (a self-test of this script, seconds)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds each measured row may take")
    p.add_argument("--out", default=None, help="also write the rows as JSON here")
    p.add_argument("--arithmetic-only", action="store_true", help="print the arithmetic rows, measure nothing")
    p.add_argument("--one", nargs=2, metavar=("CASE", "MODE"), help=argparse.SUPPRESS)
    p.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(one_iteration(*args.one, args.device, args.tiny, args.folder)), flush=True)
        return
    keys, modes = args.cases.split(","), args.modes.split(",")
    unknown = [k for k in keys if k not in cases(True)] + [m for m in modes if m not in MODES]
    if unknown:
        raise SystemExit(f"bench-memory: unknown case or mode {unknown[0]!r}")
    budget = available_gib(args.device)
    rows, start = [], time.time()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.arithmetic_only:
            write_folders(Path(tmp), args.tiny, keys)
        for key in keys:
            case = cases(args.tiny)[key]
            n = counts(case)
            for mode in modes:
                math = arithmetic(n, MODES[mode][1])
                row = {
                    "case": case.title,
                    "mode": mode,
                    "params_M": n["network"] / 1e6,
                    "adapters_M": n["adapters"] / 1e6,
                    "arithmetic_GiB": math,
                }
                if math["total"] > 0.9 * budget:
                    row["skipped"] = f"does not fit: {math['total']:.1f} GiB before activations > {budget:.0f} GiB"
                elif args.arithmetic_only:
                    row["skipped"] = "not measured (--arithmetic-only)"
                else:
                    row.update(measure(key, mode, args.device, args.tiny, tmp, args.timeout))
                rows.append(row)
                print_row(row, flush=True)
    print(f"\nbench-memory done in {time.time() - start:.0f} s on {describe(args.device)} ({budget:.0f} GiB)")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"device": describe(args.device), "rows": rows}, f, indent=1)


def describe(device: str) -> str:
    return torch.cuda.get_device_name(0) if device == "cuda" else f"CPU, {os.cpu_count()} cores"


def print_row(row: Dict, flush: bool = False) -> None:
    m = row["arithmetic_GiB"]
    math = (
        f"weights {m['weights']:.2f} + text {m['text_encoder']:.2f} + Adam {m['adam']:.2f} + grads {m['grads']:.2f}"
        f" = {m['total']:.2f} GiB"
    )
    if "skipped" in row:
        result = row["skipped"]
    elif "error" in row:
        result = "failed: " + row["error"]
    else:
        result = (
            f"peak {row['peak_GiB']:.2f} GiB in the iteration ({row['built_GiB']:.2f} while building), "
            f"{row['s_per_iteration']:.2f} s/iteration"
        )
    print(
        f"{row['case']:<62} {row['mode']:<10} {row['params_M']:7.1f}M (+{row['adapters_M']:.2f}M LoRA)  "
        f"{math}  | {result}",
        flush=flush,
    )


if __name__ == "__main__":
    main()
