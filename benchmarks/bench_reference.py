"""``make bench REFERENCE=<clone>``: our SFD iteration against the reference implementation's own loop.

Both sides run the same networks (architecture and initial weights), batch and settings: the
config's, except where the reference's UNet cannot follow. Its ``Conditional_Model`` builds width
128 only (its residual blocks take a 512 = 4 x 128 wide time-and-class input) with 32 GroupNorm
groups, so a config of another width (the digits default: ch 16, 8 groups) is timed at ch 128 and
32 groups on both sides, from untrained weights; the printout says so.

How each side's iteration is timed. Theirs: ``DDPM/runners/diffusion.py:Diffusion.train_sfd`` runs
unchanged (``benchmarks/reference_loop.py``) for warm-up + K + 1 iterations a round, and its data loader
stamps the clock each time the loop asks for a batch, which the loop does once, at the top of every
iteration. The differences of consecutive stamps are its iterations' seconds: all it does from one
batch to the next, i.e. both updates (each network run twice: retained rows, then forget rows), the
losses' all-reduce and ``.item()``, clipping, Adam steps, its EMA update, its logging and snapshot
checks (log every 50 iterations, as its configs, so not reached in these short runs; snapshots
never), and the next batch (placeholder images and labels; its real loader decodes CIFAR images in
worker processes). Ours: the clock at each ``on_train_batch_start`` inside ``Trainer.fit``,
differenced the same way: both updates, the EMA update, the learning-rate schedules, Lightning's
logging calls and batch fetching (no logger, checkpoints or the config's callbacks). One-off setup
on either side (process group, networks, checkpoint files, DDP wrappers, the Trainer) comes before
the first stamp, and each run's first ``--warmup`` iterations are left out.

Stamps rather than the difference of whole runs of N and N + K iterations: a run's setup takes
seconds and varies more than an iteration does, so a difference would carry the noise of two
setups; stamps give every iteration's own time, and the sides are compared by medians. The rounds
alternate which side runs first, so a busy spell on a shared machine slows both alike.
"""

import contextlib
import io
import statistics
import time
from typing import Any, Dict, List, Sequence, Tuple

import torch

from benchmarks.reference_loop import REFERENCE_COMMIT, LabelLoader, ddpm_config, on_path, run_train_sfd
from benchmarks.timing import build, fit_timed

NET = "--model.init_args.teacher.init_args.net.init_args"
# the one UNet the reference builds (DDPM/models/diffusion.py): width 128, GroupNorm(32, eps 1e-6)
REFERENCE_UNET = {"ch": 128, "norm_groups": 32, "norm_eps": 1e-6, "gradient_checkpointing": False}
LOG_FREQ = 50  # the reference configs' training.log_freq


def periods(stamps: Sequence[float], warmup: int) -> List[float]:
    """Seconds between consecutive stamps, the first ``warmup`` differences left out."""
    return [b - a for a, b in zip(stamps, stamps[1:])][warmup:]


def round_ratios(ours: Sequence[Sequence[float]], theirs: Sequence[Sequence[float]]) -> List[float]:
    """Per round: the median of our iterations over the median of theirs."""
    return [statistics.median(o) / statistics.median(t) for o, t in zip(ours, theirs)]


def pooled_median(rounds: Sequence[Sequence[float]]) -> float:
    """The median of every round's iterations together."""
    return statistics.median(t for r in rounds for t in r)


def unet_changes(net: Dict[str, Any]) -> Dict[str, Tuple[Any, Any]]:
    """``{argument: (config's, reference's)}`` for the DDPMUNet arguments the reference's UNet cannot take."""
    return {k: (net.get(k), v) for k, v in REFERENCE_UNET.items() if net.get(k) != v}


def teacher_args(module) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The init arguments of the config's teacher network and schedule; SystemExit when the loop has no counterpart."""
    teacher = module.hparams["teacher"]
    net = teacher["init_args"]["net"]
    if not net["class_path"].endswith("DDPMUNet") or net["init_args"].get("num_classes") is None:
        raise SystemExit(
            f"bench: --reference times the reference's class-conditional DDPM loop; the config's teacher "
            f"network is {net['class_path']}, not a class-conditional DDPMUNet"
        )
    schedule = teacher["init_args"].get("schedule") or {"init_args": {}}
    return dict(net["init_args"]), {
        "kind": "linear",
        "num_timesteps": 1000,
        "beta_start": 1e-4,
        "beta_end": 0.02,
        **schedule["init_args"],
    }


def unsupported(module, schedule: Dict[str, Any]) -> List[str]:
    """Settings of ours the reference's DDPM loop has no counterpart for."""
    g = module.guidance
    classes = module.forget_classes
    one_fixed = len(classes) == 1 and classes[0].override is not None
    problems = [] if one_fixed else ["model.override / forget_label (the loop's is one class, a fixed label)"]
    if (g.teacher, g.fake_score, g.fake_score_train, g.dropout) != (1.0, 1.0, 1.0, 0.0):
        problems.append("model.guidance (guidance and label dropout)")
    if module.grad_clip_value is None or not module.clip_fake_score:
        problems.append("model.grad_clip_value / clip_fake_score (the loop clips both networks)")
    if schedule["kind"] != "linear":
        problems.append(f"schedule kind {schedule['kind']} (the loop's is linear)")
    if module.teacher.prediction != "eps":
        problems.append("teacher prediction (the loop's networks predict eps)")
    return problems


def built_optimizers(module) -> Tuple[List[torch.optim.Optimizer], List[Any]]:
    """Our two optimisers and their LR schedules (none without ``model.lr_scheduler``), built as ``fit`` builds them."""
    built = module.configure_optimizers()
    return built if isinstance(built, tuple) else (built, [])


def adam_settings(module) -> List[Dict[str, Any]]:
    """The reference's ``sg_optim`` and ``g_optim`` sections from our two optimisers (Adam only)."""
    sections = []
    for opt in built_optimizers(module)[0]:
        if type(opt) is not torch.optim.Adam:
            raise SystemExit(
                f"bench: --reference: the reference's loop uses Adam; the config's optimiser is {type(opt).__name__}"
            )
        d = opt.defaults
        sections.append(
            dict(
                optimizer="Adam",
                lr=d["lr"],
                beta1=d["betas"][0],
                beta2=d["betas"][1],
                eps=d["eps"],
                weight_decay=d["weight_decay"],
                amsgrad=d["amsgrad"],
                grad_clip=module.grad_clip_value,
            )
        )
    return sections


def reference_config(module, net: Dict[str, Any], schedule: Dict[str, Any], batch_size: int, n_iters: int):
    """``train_sfd``'s config for the same network, batch and settings as ``module``."""
    model = dict(
        type="sid",
        var_type="fixedlarge",
        ema=True,
        ema_rate=module.hparams["ema_decay"],
        cond_drop_prob=0.0,
        **{
            k: net[k]
            for k in (
                "ch",
                "ch_mult",
                "num_res_blocks",
                "attn_resolutions",
                "dropout",
                "in_channels",
                "resamp_with_conv",
            )
        },
    )
    model["out_ch"] = net.get("out_ch") or net["in_channels"]
    data = dict(
        dataset="CIFAR10", image_size=net["resolution"], channels=net["in_channels"], n_classes=module.num_classes
    )
    t, w = module.timesteps, module.loss_weights
    distill = dict(
        alpha=module.alpha,
        t_min=t.t_min,
        t_init=t.t_init,
        t_max=t.t_max,
        sg_remain_coef=w.sg_remain,
        sg_forget_coef=w.sg_forget,
        g_remain_coef=w.g_remain,
        g_forget_coef=w.g_forget,
        label_to_override=module.forget_classes[0].override,
        pseudo_label_type="rand",
        use_clf=False,
        clf_path=None,
        init_from_ema=True,
        cond_scale=0.0,
        cond_drop_prob=0.0,
    )
    diffusion = dict(
        beta_schedule="linear",
        beta_start=schedule["beta_start"],
        beta_end=schedule["beta_end"],
        num_diffusion_timesteps=schedule["num_timesteps"],
    )
    sg_optim, g_optim = adam_settings(module)
    return ddpm_config(model, data, distill, sg_optim, g_optim, batch_size, n_iters, LOG_FREQ, diffusion)


def settings_line(module, config) -> str:
    """The settings both sides run, and what ours adds from the config."""
    d, sg, g = config.distill, config.sg_optim, config.g_optim
    optimizers, schedules = built_optimizers(module)
    ours = ["fused Adam"] if optimizers[0].defaults.get("fused") else []
    ours += [f"{type(schedules[0]).__name__} schedule"] if schedules else []
    return (
        f"alpha {d.alpha}, t {d.t_min}/{d.t_init}/{d.t_max}, loss weights {d.sg_remain_coef}/{d.sg_forget_coef}/"
        f"{d.g_remain_coef}/{d.g_forget_coef}, forget {module.forget_label} -> {d.label_to_override}, Adam lr "
        f"{sg.lr:g}/{g.lr:g} betas ({sg.beta1}, {sg.beta2}) eps {sg.eps:g}, clip {sg.grad_clip}, EMA "
        f"{config.model.ema_rate}" + (f"; ours also, as the config: {', '.join(ours)}" if ours else "")
    )


def reference_states(module) -> List[Any]:
    """Our networks as the reference's SFD checkpoint list: its fake score and its teacher (the loop loads
    both from entry 0) start as our fake score, its generator as our generator's EMA (``init_from_ema``)."""
    fake, ema = module.fake_score.net.state_dict(), module.generator_ema.module.net.state_dict()
    return [fake, {}, module.generator.net.state_dict(), {}, 0, ema]


class StampedLoader(LabelLoader):
    """The loop's loader, stamping the clock each time the loop takes a batch (once an iteration)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.stamps: List[float] = []

    def __iter__(self):
        for batch in super().__iter__():
            self.stamps.append(time.perf_counter())
            yield batch


def retained_labels(pool: List[int], batch_size: int):
    """Uniform retained labels from a private stream, as our data module draws them."""
    g = torch.Generator().manual_seed(0)
    pool_t = torch.tensor(pool)
    return lambda: pool_t[torch.randint(len(pool), (batch_size,), generator=g)]


def time_theirs(
    runner, config, states: List[Any], shape: Tuple[int, ...], labels, forget_label: int, warmup: int
) -> List[float]:
    """Seconds of each of ``train_sfd``'s iterations after ``warmup`` (its setup's printout swallowed)."""
    loader = StampedLoader(shape, labels)
    with contextlib.redirect_stdout(io.StringIO()):
        run_train_sfd(runner, config, states, loader, forget_label)
    if len(loader.stamps) != config.training.n_iters:
        raise RuntimeError(
            f"train_sfd took {len(loader.stamps)} batches in {config.training.n_iters} iterations, not one each"
        )
    return periods(loader.stamps, warmup)


def time_ours(module, data, iterations: int, warmup: int) -> List[float]:
    """Seconds of each of our iterations in ``Trainer.fit`` after ``warmup``, batch start to batch start."""
    return periods(fit_timed(module, data, warmup + iterations + 1, warmup).starts, warmup)


def build_shared(config: str, overrides: List[str]):
    """Our module and data on a network the reference's UNet can build too, and a line saying which."""
    module, data = build(config, overrides)
    net, schedule = teacher_args(module)
    changes = unet_changes(net)
    if changes:  # the config's weights do not fit the wider network: both sides start from the same untrained one
        module, data = build(
            config,
            overrides
            + [f"{NET}.{k}={v}" for k, (_, v) in changes.items()]
            + ["--model.init_args.teacher_ckpt=null", "--model.init_args.init_ckpt=null"],
        )
        net, schedule = teacher_args(module)
        changed = ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changes.items())
        note = (
            f"{config}'s DDPMUNet with {changed} (the reference's UNet builds only width 128 with 32 groups), "
            f"untrained weights"
        )
    else:
        note = f"{config}'s DDPMUNet and weights"
    shape = f"{net['in_channels']}x{net['resolution']}x{net['resolution']}"
    note += (
        f": {shape}, ch {net['ch']}, ch_mult {list(net['ch_mult'])}, {net['num_res_blocks']} res block(s), "
        f"attention at {list(net['attn_resolutions'])} px, dropout {net['dropout']}"
    )
    problems = unsupported(module, schedule)
    if problems:
        raise SystemExit(f"bench: --reference: the reference's DDPM loop has no counterpart for {'; '.join(problems)}")
    return module, data, net, schedule, note


def compare_with_reference(args) -> None:
    """Time our iterations and ``train_sfd``'s in interleaved rounds and print the medians and ratios."""
    overrides = [f"--data.init_args.batch_size={args.batch_size}"] if args.batch_size else []
    module, data, net, schedule, note = build_shared(args.config, overrides)
    b, n_iters = data.batch_size, args.warmup + args.iterations + 1
    config = reference_config(module, net, schedule, b, n_iters)
    settings = settings_line(module, config)
    states = reference_states(module)
    on_path(args.reference, "DDPM")
    import runners.diffusion as runner  # the reference's module, from the clone

    pool = [c for c in range(module.num_classes) if c != module.forget_label]
    shape = (net["in_channels"], net["resolution"], net["resolution"])
    ours, theirs = [], []
    for r in range(args.rounds):  # alternating who goes first
        sides = [
            lambda: ours.append(time_ours(module, data, args.iterations, args.warmup)),
            lambda: theirs.append(
                time_theirs(runner, config, states, shape, retained_labels(pool, b), module.forget_label, args.warmup)
            ),
        ]
        for side in sides if r % 2 == 0 else sides[::-1]:
            side()
    print_comparison(args, note, settings, b, ours, theirs)


def print_comparison(
    args, note: str, settings: str, batch_size: int, ours: List[List[float]], theirs: List[List[float]]
) -> None:
    ratios = round_ratios(ours, theirs)
    print(
        "\nSFD iteration: ours against the reference's own loop "
        f"(tqch/score-forgetting-distillation@{REFERENCE_COMMIT}, DDPM/runners/diffusion.py: Diffusion.train_sfd)"
    )
    print(f"  networks, both sides: {note}")
    print(f"  settings, both sides: {settings}")
    print(
        f"  batch {batch_size} retained + {batch_size} forget, torch threads {torch.get_num_threads()}, {args.rounds} "
        f"interleaved rounds of {args.iterations} iterations a side (the first {args.warmup} of each run left out)"
    )
    print(
        "  timed, batch start to batch start: ours in Trainer.fit: both updates, EMA, LR schedules, Lightning's log "
        "calls and batch fetch (no logger, checkpoints, callbacks); theirs, train_sfd unchanged: both updates (two "
        f"passes a network), loss all-reduce + .item(), EMA, log/snapshot checks (due every {LOG_FREQ} / never), "
        "a batch of labels from a stand-in loader; setup excluded on both"
    )
    print(f"  {'round':>5} {'ours ms':>9} {'theirs ms':>10} {'ours/theirs':>12}")
    for r, (o, t, ratio) in enumerate(zip(ours, theirs, ratios), 1):
        print(f"  {r:>5} {statistics.median(o) * 1000:9.1f} {statistics.median(t) * 1000:10.1f} {ratio:12.2f}")
    o, t = pooled_median(ours), pooled_median(theirs)
    print(f"  {'all':>5} {o * 1000:9.1f} {t * 1000:10.1f} {o / t:12.2f}   (medians of all timed iterations)")
    print(
        f"  ratio ours/theirs: {statistics.median(ratios):.2f} (median of the rounds' ratios; rounds "
        f"{min(ratios):.2f}-{max(ratios):.2f}); below 1: ours is faster"
    )
