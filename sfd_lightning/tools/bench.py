"""``make bench``: seconds per SFD iteration against the summed cost of the network passes it makes.

One iteration on a batch of B retained + B forget samples (2B in all) needs: the generator's
forward without gradients and the fake score's forward + backward (fake-score step); the
generator's forward + backward to its weights, and the teacher's and fake score's forward +
backward to their input (generator step). Each pass is timed alone on the same 2B batch; the
iteration is timed inside ``Trainer.fit``. A ratio near 1 means the loop adds little overhead.

    python -m sfd_lightning.tools.bench [--config configs/digits_forget.yaml] [--iterations 30]
"""
import argparse
import statistics
import time
from typing import Callable, Dict, List

import torch
from lightning.pytorch import Callback, Trainer

from sfd_lightning.callbacks.speed import timed_calls
from sfd_lightning.cli import SFDLightningCLI


class IterationTimer(Callback):
    def __init__(self, warmup: int):
        self.warmup, self.times, self._start = warmup, [], 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if batch_idx >= self.warmup:
            self.times.append(time.perf_counter() - self._start)


def median_seconds(fn: Callable[[], None], repeats: int) -> float:
    return statistics.median(timed_calls(fn, repeats))


def pass_costs(module, z: torch.Tensor, labels: torch.Tensor, repeats: int) -> Dict[str, float]:
    """Median seconds of each network pass one SFD iteration makes, on the iteration's 2B batch."""
    sigma = module.sample_sigma(len(z))
    x = (module.sigma_init * z).detach()

    def gen_forward_no_grad():
        with torch.no_grad():
            module.generator(x, module.sigma_init, labels)

    def weights_pass(net):
        net.requires_grad_(True)
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
    module.fake_score.requires_grad_(False)
    costs["teacher forward+backward (input)"] = median_seconds(input_pass(module.teacher), repeats)
    costs["fake score forward+backward (input)"] = median_seconds(input_pass(module.fake_score), repeats)
    module.fake_score.requires_grad_(True)
    module.zero_grad(set_to_none=True)
    return costs


def main(argv: List[str] = None) -> None:
    p = argparse.ArgumentParser(prog="python -m sfd_lightning.tools.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="configs/digits_forget.yaml", help="SFD config whose model and data are timed")
    p.add_argument("--iterations", type=int, default=30, help="timed SFD iterations (after 5 warm-up ones)")
    p.add_argument("--batch-size", type=int, default=None, help="retained samples per iteration (default: the config's)")
    p.add_argument("--iteration-only", action="store_true", help="time the iteration only, not each network pass")
    args = p.parse_args(argv)
    warmup = 5
    overrides = [f"--data.init_args.iterations={warmup + args.iterations}"]
    if args.batch_size:
        overrides.append(f"--data.init_args.batch_size={args.batch_size}")
    cli = SFDLightningCLI(args=["--config", args.config, *overrides], run=False)
    module, data = cli.model, cli.datamodule
    timer = IterationTimer(warmup)
    trainer = Trainer(accelerator="cpu", devices=1, max_epochs=1, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, callbacks=[timer])
    trainer.fit(module, datamodule=data)
    per_iteration = statistics.median(timer.times)
    if args.iteration_only:
        print(f"  {'SFD iteration (median, in Trainer.fit)':<40} {per_iteration * 1000:8.1f} ms")
        return

    b = data.batch_size
    z = torch.randn((2 * b, *data.shape))
    labels = torch.cat([torch.randint(1, module.num_classes, (b,)), torch.full((b,), module.forget_label)])
    costs = pass_costs(module, z, labels, repeats=max(5, args.iterations // 2))
    total = sum(costs.values())
    print(f"\nSFD iteration benchmark ({args.config}, batch {b} retained + {b} forget, torch threads {torch.get_num_threads()})")
    for name, seconds in costs.items():
        print(f"  {name:<40} {seconds * 1000:8.1f} ms")
    print(f"  {'sum of network passes':<40} {total * 1000:8.1f} ms")
    print(f"  {'SFD iteration (median, in Trainer.fit)':<40} {per_iteration * 1000:8.1f} ms")
    print(f"  ratio iteration / sum of passes: {per_iteration / total:.2f}")


if __name__ == "__main__":
    main()
