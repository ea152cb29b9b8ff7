"""Timing an SFD iteration: a short ``Trainer.fit`` with a per-iteration timer, and each network pass one
iteration makes, timed alone; ``bench``, ``bench_reference``, ``bench_memory`` and the GPU check share them."""

import statistics
import time
from typing import Callable, Dict, List

import torch
from lightning.pytorch import Callback, Trainer

from sfd_lightning.cli import SFDLightningCLI
from sfd_lightning.metrics.throughput import timed_calls
from sfd_lightning.models.sfd_networks import trainable_parameters


class IterationTimer(Callback):
    """``times``: each iteration's seconds from its batch start to its end, after ``warmup`` ones; ``starts``:
    the clock at every batch start (``bench_reference`` differences them, as it does the reference's)."""

    def __init__(self, warmup: int):
        self.warmup, self.times, self.starts, self._start = warmup, [], [], 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        synchronize()
        self._start = time.perf_counter()
        self.starts.append(self._start)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        synchronize()  # CUDA runs behind the host: the iteration ends when its kernels do
        if batch_idx >= self.warmup:
            self.times.append(time.perf_counter() - self._start)


def synchronize() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def median_seconds(fn: Callable[[], None], repeats: int) -> float:
    return statistics.median(timed_calls(fn, repeats))


def pass_costs(module, z: torch.Tensor, labels: torch.Tensor, repeats: int) -> Dict[str, float]:
    """Median seconds of each network pass one SFD iteration makes, on the iteration's 2B batch (``labels``: its
    condition, class labels or prompts). Gradients go to what the optimisers train (the adapters with LoRA)."""
    sigma = module.draw("generator", z).sigma
    generator = module.one_step()
    x = (generator.sigma_init * z).detach()

    def trained(net, on: bool):
        for p in trainable_parameters(net, module.lora):
            p.requires_grad_(on)

    def gen_forward_no_grad():
        with torch.no_grad():
            generator(z, labels)

    def weights_pass(net):
        trained(net, True)
        return lambda: net(x, sigma, labels).sum().backward()

    def input_pass(net):
        def run():
            xi = x.clone().requires_grad_(True)
            net(xi, sigma, labels).sum().backward()

        return run

    costs = {
        "generator forward (no grad)": median_seconds(gen_forward_no_grad, repeats),
        "fake score forward+backward (weights)": median_seconds(weights_pass(module.fake_score), repeats),
        "generator forward+backward (weights)": median_seconds(weights_pass(module.generator), repeats),
    }
    trained(module.fake_score, False)
    costs["teacher forward+backward (input)"] = median_seconds(input_pass(module.teacher), repeats)
    costs["fake score forward+backward (input)"] = median_seconds(input_pass(module.fake_score), repeats)
    trained(module.fake_score, True)
    module.zero_grad(set_to_none=True)
    return costs


def fit_iterations(module, data, iterations: int, warmup: int = 2) -> List[float]:
    """Seconds of each SFD iteration of a short ``Trainer.fit`` (its first ``warmup`` iterations left out)."""
    return fit_timed(module, data, warmup + iterations, warmup).times


def fit_timed(module, data, iterations: int, warmup: int = 2) -> IterationTimer:
    """The timer of a ``Trainer.fit`` of ``iterations`` SFD iterations (logger, checkpoints and the config's
    callbacks off)."""
    data.iterations = iterations
    timer = IterationTimer(warmup)
    Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    ).fit(module, datamodule=data)
    return timer


def build(config: str, overrides: List[str]):
    cli = SFDLightningCLI(args=["--config", config, *overrides], run=False)
    return cli.model, cli.datamodule
