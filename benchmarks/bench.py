"""``make bench``: seconds per SFD iteration against the summed cost of the network passes it makes.

One iteration on a batch of B retained + B forget samples (2B in all) needs: the generator's
forward without gradients and the fake score's forward + backward (fake-score step); the
generator's forward + backward to its weights, and the teacher's and fake score's forward +
backward to their input (generator step). Each pass is timed alone on the same 2B batch; the
iteration is timed inside ``Trainer.fit``. A ratio near 1 means the loop adds little overhead.
Iterations, the reference's pass order (``sfd_lightning/models/reference_order.py``: retained and forget rows in
two passes each) and the passes are timed in interleaved rounds and compared by medians, so the ratio
holds on a machine that is busy now and then. With ``--reference`` (``make bench REFERENCE=<clone>``)
it times the reference implementation's own loop beside ours instead (``benchmarks/bench_reference.py``). With
``--overlay`` (``make bench ARGS="--overlay configs/overlays/robust.yaml"``) it times the iteration with that
config overlay added beside the plain one, in interleaved rounds, and prints their ratio: an option's cost.

    python -m benchmarks.bench [--config configs/digits_forget_2stage.yaml] [--rounds 5] [--iterations 8]
        [--reference <clone of tqch/score-forgetting-distillation at 3771028> | --overlay <config overlay>]
"""

import statistics
from typing import List

import torch

from benchmarks.command_line import tool_parser
from benchmarks.reference_loop import ReferenceSetupError, check_reference
from benchmarks.timing import build, fit_iterations, pass_costs
from sfd_lightning.runtime.quiet import silence_known_noise


def parse_args(argv: List[str] = None):
    p = tool_parser("bench", __doc__, "SFD config whose model and data are timed")
    p.add_argument(
        "--rounds", type=int, default=5, help="rounds; each times iterations, the reference order and the passes"
    )
    p.add_argument("--iterations", type=int, default=8, help="timed SFD iterations a round (after the warm-up ones)")
    p.add_argument("--warmup", type=int, default=2, help="iterations left out at the start of each timed run")
    p.add_argument(
        "--batch-size", type=int, default=None, help="retained samples per iteration (default: the config's)"
    )
    p.add_argument("--iteration-only", action="store_true", help="time the iteration only, not each network pass")
    p.add_argument(
        "--reference",
        default=None,
        metavar="CLONE",
        help="a git clone of the reference implementation at commit 3771028: time its own SFD loop "
        "(DDPM/runners/diffusion.py: train_sfd) beside ours on the same networks, batch and settings",
    )
    p.add_argument(
        "--overlay",
        default=None,
        metavar="YAML",
        help="a config overlay (e.g. configs/overlays/robust.yaml): time the iteration with it beside "
        "the plain one and print the ratio",
    )
    args = p.parse_args(argv)
    if sum([args.reference is not None, args.iteration_only, args.overlay is not None]) > 1:
        p.error("--reference, --iteration-only and --overlay: choose one")
    if min(args.rounds, args.iterations) < 1 or args.warmup < 0:
        p.error("--rounds and --iterations must be at least 1, --warmup at least 0")
    return args


def main(argv: List[str] = None) -> None:
    args = parse_args(argv)
    if args.reference is not None:
        try:
            args.reference = check_reference(args.reference)
        except ReferenceSetupError as err:
            raise SystemExit(f"bench: {err}") from None
    silence_known_noise()
    if args.reference is not None:
        from benchmarks.bench_reference import compare_with_reference

        return compare_with_reference(args)
    overrides = [f"--data.init_args.batch_size={args.batch_size}"] if args.batch_size else []
    if args.overlay is not None:
        return compare_overlay(args, overrides)
    module, data = build(args.config, overrides)
    if args.iteration_only:
        times = [t for _ in range(args.rounds) for t in fit_iterations(module, data, args.iterations, args.warmup)]
        print(f"  {'SFD iteration (median, in Trainer.fit)':<40} {statistics.median(times) * 1000:8.1f} ms")
        return
    reference, reference_data = build(
        args.config, overrides + ["--model.class_path=sfd_lightning.models.reference_order.ReferencePassOrder"]
    )
    b = data.batch_size
    z = torch.randn((2 * b, *data.shape))
    labels = torch.cat([torch.randint(1, module.num_classes, (b,)), torch.full((b,), module.forget_label)])
    ours, theirs, passes, ratios = [], [], {}, []
    for _ in range(args.rounds):  # interleaved, so a busy spell slows all three alike
        round_ours = fit_iterations(module, data, args.iterations, args.warmup)
        theirs += fit_iterations(reference, reference_data, args.iterations, args.warmup)
        costs = pass_costs(module, z, labels, repeats=max(3, args.iterations // 2))
        for name, seconds in costs.items():
            passes.setdefault(name, []).append(seconds)
        ours += round_ours
        ratios.append(statistics.median(round_ours) / sum(costs.values()))
    costs = {name: statistics.median(v) for name, v in passes.items()}
    total = sum(costs.values())
    print(
        f"\nSFD iteration benchmark ({args.config}, batch {b} retained + {b} forget, torch threads "
        f"{torch.get_num_threads()}, {args.rounds} interleaved rounds, medians)"
    )
    for name, seconds in costs.items():
        print(f"  {name:<40} {seconds * 1000:8.1f} ms")
    print(f"  {'sum of network passes':<40} {total * 1000:8.1f} ms")
    print(f"  {'SFD iteration (in Trainer.fit)':<40} {statistics.median(ours) * 1000:8.1f} ms")
    print(f"  {'reference pass order (two passes a network)':<40} {statistics.median(theirs) * 1000:8.1f} ms")
    print(
        f"  ratio iteration / sum of passes: {statistics.median(ratios):.2f} (median of the rounds' ratios; "
        f"rounds {min(ratios):.2f}-{max(ratios):.2f})"
    )
    print(f"  speed against the reference pass order: {statistics.median(theirs) / statistics.median(ours):.2f}x")


def compare_overlay(args, overrides: List[str]) -> None:
    """Seconds per iteration with and without ``args.overlay``, in interleaved rounds; the ratio is the median
    of the rounds' ratios."""
    plain, overlaid = build(args.config, overrides), build(args.config, overrides + ["--config", args.overlay])
    times, ratios = {"plain": [], "overlay": []}, []
    for _ in range(args.rounds):
        round_plain = fit_iterations(*plain, args.iterations, args.warmup)
        round_overlay = fit_iterations(*overlaid, args.iterations, args.warmup)
        times["plain"] += round_plain
        times["overlay"] += round_overlay
        ratios.append(statistics.median(round_overlay) / statistics.median(round_plain))
    print(
        f"\nSFD iteration with and without {args.overlay} ({args.config}, batch {plain[1].batch_size} retained + "
        f"forget, torch threads {torch.get_num_threads()}, {args.rounds} interleaved rounds, medians)"
    )
    print(f"  {'plain SFD iteration':<40} {statistics.median(times['plain']) * 1000:8.1f} ms")
    print(f"  {'with the overlay':<40} {statistics.median(times['overlay']) * 1000:8.1f} ms")
    print(f"  ratio overlay / plain: {statistics.median(ratios):.2f} (rounds {min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
