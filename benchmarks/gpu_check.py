"""``make gpu-check``: CUDA smoke test of every backbone at real size, then SFD-iteration speed and memory.

1. Every backbone (digits UNet, CIFAR-10 and STL-10 DDPM UNets, DiT-XL/2, the SD/DiT VAE, the
   ResNet judges) at its real size with random weights: forward + backward in fp32 and bf16,
   finite outputs, time and peak memory.
2. One SFD iteration (fake-score step + generator step + EMA, inside ``Trainer.fit``) at CIFAR-10
   size (batch 128 retained + 128 forget) and DiT-XL/2-256 size (latents 4x32x32, batch 16 + 16):
   generator samples per second and peak memory, for the reference's way (retained and forget
   passes one after the other, fp32) and ours (one batched pass; fp32, bf16, channels-last or
   gradient checkpointing), all measured in the same run; the ratio is against the reference's way.
3. The same for a Stable-Diffusion-1.5-size UNet (random weights, a random CLIP-L-size text encoder,
   latents 4x64x64, batch 2 + 2 prompts) in bf16 with gradient checkpointing off and on.

Run it as:

    python -m benchmarks.gpu_check [--compile] [--out gpu_check.json]
    python -m benchmarks.gpu_check --tiny --device cpu      (the same code paths in seconds, for tests)
"""

import argparse
import gc
import json
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
from lightning.pytorch import Trainer
from torch import nn

from benchmarks.timing import IterationTimer
from sfd_lightning.data import NoiseLabelDataModule, PromptDataModule
from sfd_lightning.diffusion import VPDenoiser
from sfd_lightning.models import SFDModule
from sfd_lightning.models.components import (
    ConvClassifier,
    DDPMUNet,
    DiTEps,
    LatentAutoencoder,
    ResNetClassifier,
    SDUNet,
)
from sfd_lightning.models.reference_order import ReferencePassOrder

RETAINED = ["a bowl of ramen", "a lighthouse at sunset", "a red bicycle", "a cat on a sofa"]

DIT_XL_2 = dict(
    num_attention_heads=16,
    attention_head_dim=72,
    in_channels=4,
    out_channels=8,
    num_layers=28,
    sample_size=32,
    patch_size=2,
    num_embeds_ada_norm=1000,
)
SD_VAE = dict(
    block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    layers_per_block=2,
    latent_channels=4,
    sample_size=256,
)
CIFAR10_UNET = dict(
    in_channels=3,
    resolution=32,
    ch=128,
    ch_mult=(1, 2, 2, 2),
    num_res_blocks=2,
    attn_resolutions=(16,),
    dropout=0.1,
    num_classes=10,
)
STL10_UNET = dict(CIFAR10_UNET, resolution=64, ch_mult=(1, 2, 2, 2, 4))
TINY_UNET = dict(
    in_channels=3,
    resolution=8,
    ch=16,
    ch_mult=(1, 2),
    num_res_blocks=1,
    attn_resolutions=(4,),
    dropout=0.0,
    num_classes=10,
    norm_groups=8,
)
TINY_DIT = dict(
    num_attention_heads=2,
    attention_head_dim=8,
    in_channels=4,
    out_channels=8,
    num_layers=2,
    sample_size=8,
    patch_size=2,
    num_embeds_ada_norm=1000,
    norm_num_groups=8,
)
TINY_VAE = dict(
    block_out_channels=(8, 16),
    down_block_types=("DownEncoderBlock2D",) * 2,
    up_block_types=("UpDecoderBlock2D",) * 2,
    latent_channels=4,
    norm_num_groups=8,
    sample_size=16,
)


@dataclass
class Backbone:
    name: str
    build: Callable[[], nn.Module]
    inputs: Callable[[torch.device], tuple]  # positional inputs for one forward pass


def backbones(tiny: bool, batch: int) -> List[Backbone]:
    def eps_inputs(c, s, n_classes=10):
        return lambda d: (
            torch.randn(batch, c, s, s, device=d),
            torch.randint(0, 1000, (batch,), device=d),
            torch.randint(0, n_classes, (batch,), device=d),
        )

    def images(c, s):
        return lambda d: (torch.rand(batch, c, s, s, device=d) * 2 - 1,)

    unet = TINY_UNET if tiny else CIFAR10_UNET
    out = [
        Backbone(
            "digits UNet",
            lambda: DDPMUNet(
                in_channels=1,
                resolution=8,
                ch=16,
                ch_mult=(1, 2, 2),
                num_res_blocks=1,
                attn_resolutions=(4,),
                dropout=0.0,
                num_classes=10,
                norm_groups=8,
            ),
            eps_inputs(1, 8),
        ),
        Backbone("CIFAR-10 DDPM UNet", lambda: DDPMUNet(**unet), eps_inputs(3, unet["resolution"])),
        Backbone("digits classifier", lambda: ConvClassifier(), images(1, 8)),
    ]
    if not tiny:
        out.append(Backbone("STL-10 DDPM UNet (64 px)", lambda: DDPMUNet(**STL10_UNET), eps_inputs(3, 64)))
    dit, vae = (TINY_DIT, TINY_VAE) if tiny else (DIT_XL_2, SD_VAE)
    out += [
        Backbone(
            "DiT-XL/2-256" if not tiny else "DiT (tiny)",
            lambda: DiTEps(pretrained=None, config=dit),
            eps_inputs(4, dit["sample_size"], 1000),
        ),
        Backbone(
            "SD/DiT VAE decoder",
            lambda: _VAEDecode(vae),
            lambda d: (torch.randn(batch, 4, dit["sample_size"], dit["sample_size"], device=d),),
        ),
        Backbone(
            "ResNet-34 judge (224 px)", lambda: ResNetClassifier("resnet34", 10, None if tiny else 224), images(3, 32)
        ),
        Backbone(
            "ResNet-50 ImageNet judge",
            lambda: ResNetClassifier("resnet50", 1000, None if tiny else 224, normalize="imagenet"),
            images(3, 64),
        ),
    ]
    return out


class _VAEDecode(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.autoencoder = LatentAutoencoder(pretrained=None, config=config)
        self.autoencoder.vae.requires_grad_(True)

    def forward(self, latents):
        return self.autoencoder.vae.decode(latents / self.autoencoder.scaling_factor).sample


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _peak_gb(device: torch.device) -> Optional[float]:
    return torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None


def _reset(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def smoke(device: torch.device, tiny: bool, batch: int) -> List[Dict]:
    rows = []
    for bb in backbones(tiny, batch):
        _reset(device)
        net = bb.build().to(device).train()
        n_params = sum(p.numel() for p in net.parameters())
        for dtype in (torch.float32, torch.bfloat16):
            inputs = bb.inputs(device)
            start = time.perf_counter()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
                out = net(*inputs)
            out.float().square().mean().backward()
            _sync(device)
            finite = bool(torch.isfinite(out).all()) and all(
                torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None
            )
            rows.append(
                {
                    "backbone": bb.name,
                    "params_M": n_params / 1e6,
                    "dtype": str(dtype).split(".")[1],
                    "ok": finite,
                    "ms": (time.perf_counter() - start) * 1000,
                    "peak_GB": _peak_gb(device),
                }
            )
            net.zero_grad(set_to_none=True)
        del net
    return rows


@dataclass
class Mode:
    name: str
    precision: str = "32-true"
    batch_forget: bool = True
    channels_last: bool = False
    checkpointing: bool = False
    compile: bool = False
    extra: Dict = field(default_factory=dict)


def sfd_iteration(
    teacher_factory: Callable[[bool], nn.Module],
    shape,
    batch: int,
    num_classes: int,
    mode: Mode,
    device: torch.device,
    warmup: int,
    iterations: int,
    prompts: bool = False,
) -> Dict:
    """Median seconds of one SFD iteration inside Trainer.fit, samples/s and peak memory."""
    _reset(device)
    teacher = VPDenoiser(teacher_factory(mode.checkpointing), **mode.extra)
    cls = SFDModule if mode.batch_forget else ReferencePassOrder
    module = cls(
        teacher=teacher,
        num_classes=num_classes,
        forget_label=0,
        override_label=1,
        channels_last=mode.channels_last,
        compile=mode.compile,
        ema_decay=0.999,
    )
    timer = IterationTimer(warmup)
    trainer = Trainer(
        accelerator=device.type,
        devices=1,
        precision=mode.precision,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    if prompts:
        data = PromptDataModule(
            shape=shape,
            batch_size=batch,
            iterations=warmup + iterations,
            retained_prompts=RETAINED,
            forget_prompts=["a photo of brad pitt", "brad pitt on the red carpet"],
            concept="brad pitt",
            replacement="a middle aged man",
        )
    else:
        data = NoiseLabelDataModule(
            shape=shape, batch_size=batch, iterations=warmup + iterations, num_classes=num_classes, forget_label=0
        )
    trainer.fit(module, datamodule=data)
    seconds = statistics.median(timer.times)
    row = {
        "mode": mode.name,
        "s_per_iteration": seconds,
        "samples_per_s": 2 * batch / seconds,
        "peak_GB": _peak_gb(device),
    }
    del trainer, module, teacher
    return row


def sd_case(tiny: bool, folder: Path):
    """SD-1.5-size UNet (random weights, random CLIP-L-size text encoder) in bf16, gradient checkpointing off and on."""
    from random_pipelines import SD15_TEXT, SD15_UNET, write_random_sd

    unet = (
        dict(
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
        if tiny
        else SD15_UNET
    )
    text = (
        dict(
            SD15_TEXT,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            projection_dim=16,
        )
        if tiny
        else SD15_TEXT
    )
    write_random_sd(folder, unet, text)
    modes = [
        Mode("ours: batched, bf16", "bf16-mixed"),
        Mode("ours: batched, bf16, gradient checkpointing", "bf16-mixed", checkpointing=True),
    ]
    size = unet["sample_size"]
    return (lambda ckpt: SDUNet(pretrained=str(folder), gradient_checkpointing=ckpt), (4, size, size), 2, 10, modes)


def sfd_cases(device: torch.device, tiny: bool, use_compile: bool, folder: Path) -> Dict[str, List[Dict]]:
    unet, dit = (TINY_UNET, TINY_DIT) if tiny else (CIFAR10_UNET, DIT_XL_2)
    warmup, iterations = (1, 2) if tiny else (5, 20)
    reference = Mode("reference way: retained then forget passes, fp32", batch_forget=False)
    unet_modes = [
        reference,
        Mode("ours: batched, fp32"),
        Mode("ours: batched, bf16", "bf16-mixed"),
        Mode("ours: batched, bf16, channels_last", "bf16-mixed", channels_last=True),
    ]
    dit_modes = [
        reference,
        Mode("ours: batched, fp32"),
        Mode("ours: batched, bf16", "bf16-mixed"),
        Mode("ours: batched, bf16, gradient checkpointing", "bf16-mixed", checkpointing=True),
    ]
    if use_compile:
        unet_modes.append(Mode("ours: batched, bf16, torch.compile", "bf16-mixed", compile=True))
        dit_modes.append(Mode("ours: batched, bf16, torch.compile", "bf16-mixed", compile=True))
    cases = {
        f"{'tiny' if tiny else 'CIFAR-10'} DDPM UNet, batch {8 if tiny else 128}+{8 if tiny else 128}": (
            lambda ckpt: DDPMUNet(**unet, gradient_checkpointing=ckpt),
            (3, unet["resolution"], unet["resolution"]),
            8 if tiny else 128,
            10,
            unet_modes,
        ),
        f"{'DiT (tiny)' if tiny else 'DiT-XL/2-256'} latents, batch {4 if tiny else 16}+{4 if tiny else 16}": (
            lambda ckpt: DiTEps(pretrained=None, config=dit, gradient_checkpointing=ckpt),
            (4, dit["sample_size"], dit["sample_size"]),
            4 if tiny else 16,
            1000,
            dit_modes,
        ),
    }
    cases[f"{'SD (tiny)' if tiny else 'SD-1.5'} UNet, latents 4x{8 if tiny else 64}x{8 if tiny else 64}, batch 2+2"] = (
        sd_case(tiny, folder)
    )
    results = {}
    for name, (factory, shape, batch, k, modes) in cases.items():
        text = name.startswith("SD")
        rows = [
            sfd_iteration(factory, shape, batch, k, m, device, 1 if tiny else 3, 2 if tiny else 10, prompts=text)
            if text
            else sfd_iteration(factory, shape, batch, k, m, device, warmup, iterations)
            for m in modes
        ]
        for row in rows:
            row["speed_vs_reference"] = row["samples_per_s"] / rows[0]["samples_per_s"]
        results[name] = rows
    return results


def report(smoke_rows: List[Dict], cases: Dict[str, List[Dict]], device: torch.device, tiny: bool) -> None:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    size = "TINY sizes (self-test)" if tiny else "real size"
    print(f"\n== backbones at {size}, random weights, forward+backward ({name}) ==")
    for r in smoke_rows:
        mem = f"{r['peak_GB']:6.2f} GB" if r["peak_GB"] is not None else "    -"
        print(
            f"  {r['backbone']:<28} {r['params_M']:8.1f}M  {r['dtype']:<9} {'ok' if r['ok'] else 'NOT FINITE':<10} "
            f"{r['ms']:9.1f} ms  {mem}"
        )
    for case, rows in cases.items():
        print(f"\n== one SFD iteration: {case} ==")
        for r in rows:
            mem = f"{r['peak_GB']:6.2f} GB" if r["peak_GB"] is not None else "    -"
            print(
                f"  {r['mode']:<52} {r['samples_per_s']:9.1f} samples/s  {r['s_per_iteration'] * 1000:8.1f} ms/it  "
                f"{mem}  x{r['speed_vs_reference']:.2f}"
            )


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.gpu_check",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--device", default="cuda", help="cuda (the check) or cpu (with --tiny: a quick self-test)")
    p.add_argument("--tiny", action="store_true", help="tiny backbones and a few iterations (self-test of this script)")
    p.add_argument("--compile", action="store_true", help="also time torch.compile (adds minutes of compilation)")
    p.add_argument("--skip-smoke", action="store_true", help="only the SFD iteration timings")
    p.add_argument("--smoke-only", action="store_true", help="only the backbones' smoke test")
    p.add_argument("--out", default=None, help="also write the figures as JSON here")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu-check: no CUDA device visible (use --tiny --device cpu for a self-test)")
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 rows measure true fp32, as the reference runs
    start = time.time()
    smoke_rows = [] if args.skip_smoke else smoke(device, args.tiny, batch=2 if args.tiny else 16)
    cases = {}
    if not args.smoke_only:
        with tempfile.TemporaryDirectory() as folder:
            cases = sfd_cases(device, args.tiny, args.compile, Path(folder))
    report(smoke_rows, cases, device, args.tiny)
    print(f"\ngpu-check done in {time.time() - start:.0f} s; all backbones finite: {all(r['ok'] for r in smoke_rows)}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"device": str(device), "smoke": smoke_rows, "sfd_iteration": cases}, f, indent=2)
    if not all(r["ok"] for r in smoke_rows):
        raise SystemExit("gpu-check: a backbone's output or gradients are not finite")


if __name__ == "__main__":
    main()
