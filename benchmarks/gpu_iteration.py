"""One SFD iteration of a ``bench_memory`` row, measured from every side in one ``Trainer.fit``.

One warm-up iteration, one counted by torch's flop counter (``torch.utils.flop_counter.FlopCounterMode``: matmuls,
convolutions, attention; gradient checkpointing's recomputation included, as the hardware runs it), then
``--iterations`` timed ones, then, still inside the fit and on the last iteration's inputs, each network pass the
iteration makes timed alone (``benchmarks/timing.py: pass_costs``). It reports CUDA's peak allocation of the iterations,
the median seconds per iteration, the "physical limit" ratio (the iteration over the sum of its own passes: near 1,
the loop adds little), FLOPs per iteration and the model FLOP utilisation against the GPU's dense bf16 peak.
``--variant robust`` (robust SFD, ``configs/overlays/robust.yaml``'s settings) or ``--variant compile``
(``model.compile``) fits the plain iteration, then the variant, in the same process, and gives their ratio.

    python -m benchmarks.gpu_iteration --case sd15 --mode "LoRA bf16" [--variant robust] --out row.json
    python -m benchmarks.gpu_iteration --case sd15 --mode "LoRA bf16" --tiny --device cpu   (seconds)
"""

import argparse
import gc
import json
import statistics
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

import torch
from lightning.pytorch import Callback, Trainer

import benchmarks.bench_memory as bench_memory
from benchmarks.gpu_peaks import peak_bf16_flops
from benchmarks.timing import IterationTimer, pass_costs

VARIANTS = ("plain", "robust", "compile")


class FlopCounter(Callback):
    """The FLOPs of iteration ``index``, counted while it runs (it is left out of the timing)."""

    def __init__(self, index: int):
        self.index, self.flops, self._mode = index, None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == self.index:
            from torch.utils.flop_counter import FlopCounterMode

            self._mode = FlopCounterMode(display=False)
            self._mode.__enter__()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self._mode is not None:
            self._mode.__exit__(None, None, None)
            self.flops, self._mode = self._mode.get_total_flops(), None


class PassTimer(Callback):
    """Records the fake score's first input of each iteration; when training ends (the networks still on the
    device), notes the iterations' peak memory and times each network pass alone on those inputs."""

    def __init__(self, device: str, repeats: int):
        self.device, self.repeats, self.inputs, self.costs, self.peak = device, repeats, None, {}, None
        self._hook = None

    def on_train_start(self, trainer, pl_module):
        def record(module, args, kwargs):
            if self.inputs is None:
                self.inputs = (args, kwargs)

        self._hook = pl_module.fake_score.register_forward_pre_hook(record, with_kwargs=True)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.inputs = None  # the last iteration's are timed

    def on_train_end(self, trainer, pl_module):
        self._hook.remove()
        self.peak = bench_memory.peak_gib(self.device)
        if self.repeats < 1 or self.inputs is None:
            return
        args, kwargs = self.inputs
        x, cond = args[0], args[2] if len(args) > 2 else kwargs.get("labels", kwargs.get("cond"))
        with trainer.precision_plugin.forward_context():
            self.costs = pass_costs(pl_module, torch.randn_like(x), cond, repeats=self.repeats)


def fit_row(
    key: str, mode: str, device: str, tiny: bool, folder: str, iterations: int, repeats: int, **options
) -> Dict:
    """Build and fit one row (``options`` to ``SFDModule``); its figures."""
    module, data, precision, built = bench_memory.build_iteration(
        key, mode, device, tiny, folder, iterations + 2, **options
    )
    # repeats 0 (a variant's row): no flop counting either, which a compiled network would not survive
    timer, flops, passes = IterationTimer(warmup=2), FlopCounter(index=1 if repeats else -1), PassTimer(device, repeats)
    bench_memory.reset_peak(device)
    Trainer(
        accelerator=device,
        devices=1,
        precision=precision,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer, flops, passes],
    ).fit(module, datamodule=data)
    seconds = statistics.median(timer.times)
    row = {
        "case": bench_memory.cases(tiny)[key].title,
        "key": key,
        "mode": mode,
        "s_per_iteration": seconds,
        "iterations": len(timer.times),
        "peak_GiB": passes.peak,
        "built_GiB": built,
    }
    row.update(utilisation(flops.flops, seconds, device))
    if passes.costs:
        row["passes_s"] = passes.costs
        row["passes_sum_s"] = sum(passes.costs.values())
        row["ratio_to_passes"] = seconds / row["passes_sum_s"]
    del module, data
    release(device)
    return row


def utilisation(flops: Optional[int], seconds: float, device: str) -> Dict:
    """TFLOP per iteration, achieved TFLOP/s and the model FLOP utilisation (None where the GPU's peak is unknown)."""
    name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    peak = peak_bf16_flops(name)
    out = {
        "device_name": name,
        "peak_bf16_TFLOPs": peak / 1e12 if peak else None,
        "tflop_per_iteration": None,
        "achieved_TFLOPs": None,
        "mfu": None,
    }
    if flops:
        out.update(
            tflop_per_iteration=flops / 1e12,
            achieved_TFLOPs=flops / seconds / 1e12,
            mfu=flops / seconds / peak if peak else None,
        )
    return out


def release(device: str) -> None:
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def variant_options(variant: str) -> Dict:
    from sfd_lightning.models.robust_forget import RobustForget

    return {
        "plain": {},
        "robust": {"robust": RobustForget(noise_eps=0.5, noise_steps=2, updates="shared")},
        "compile": {"compile": True},
    }[variant]


def use_compile_backend(backend: str) -> None:
    """``model.compile`` with ``backend`` from now on in this process (the rehearsal's ``aot_eager``: dynamo's capture
    and autograd's graphs of our networks, without inductor's code generation, which takes many minutes on a CPU)."""
    original = torch.nn.Module.compile
    torch.nn.Module.compile = lambda self, *args, **kwargs: original(self, *args, **{"backend": backend, **kwargs})


def measure(args) -> Dict:
    with tempfile.TemporaryDirectory() as folder:
        bench_memory.write_folders(Path(folder), args.tiny, [args.case])
        plain = fit_row(args.case, args.mode, args.device, args.tiny, folder, args.iterations, args.repeats)
        if args.variant == "plain":
            return plain
        other = fit_row(
            args.case, args.mode, args.device, args.tiny, folder, args.iterations, 0, **variant_options(args.variant)
        )
    return {"plain": plain, args.variant: other, "ratio": other["s_per_iteration"] / plain["s_per_iteration"]}


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.gpu_iteration",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--case", required=True, choices=list(bench_memory.cases(True)))
    p.add_argument("--mode", required=True, choices=list(bench_memory.MODES))
    p.add_argument(
        "--variant", default="plain", choices=VARIANTS, help="also fit this variant and give its ratio to plain"
    )
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--tiny", action="store_true", help="the tiny networks (a self-test, seconds)")
    p.add_argument("--iterations", type=int, default=5, help="timed iterations (after a warm-up and a counted one)")
    p.add_argument("--repeats", type=int, default=3, help="timings of each network pass (0: no pass timing)")
    p.add_argument(
        "--compile-backend", default=None, help="torch.compile's backend for --variant compile (default: inductor)"
    )
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)
    if args.compile_backend:
        use_compile_backend(args.compile_backend)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_iteration: no CUDA device visible (use --tiny --device cpu for a self-test)")
    row = measure(args)
    print(json.dumps(row), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
