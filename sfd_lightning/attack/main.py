"""``sfd attack``: attack a forgetting run and judge whether the forgotten class comes back.

    sfd attack --ckpt runs/.../checkpoints/last.ckpt --attack all --examples digits --reference digits
    sfd attack --ckpt runs/.../last.ckpt --attack paraphrase --paraphrases configs/prompts/digits_seven_paraphrases.txt

The SFD one-step generator (checkpoint or exported folder) and, for scale, its teacher's few-step DDIM
sampler are attacked with the same budgets: ``noise`` (PGD on the input noise within ||z - z0|| <= eps
sqrt(d)), ``embedding`` (a learned condition token fitted to K examples of the concept: textual
inversion), for prompt models ``paraphrase`` (held-out wordings of the concept, one per line) and ``prompt``
(adversarial prompts: real words appended to the forget prompts, found by a PEZ search), ``relearn``
(fine-tuning every weight, or LoRA adapters, on the K examples for each of --relearn-steps at each
--relearn-lr: does the concept come back?) and
``benign`` (the same fine-tuning on K examples of the retained classes only: does forgetting erode by itself?).
The attacks optimise against ``--surrogate``; ``--judge`` never enters them. Writes attack.json,
attack.md (the table) and attack.png (success rate against budget) into ``--out``.
"""

import argparse
import math
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import torch

from sfd_lightning.attack.context import MAX_LR, MAX_RESTARTS, MAX_STEPS, check_range
from sfd_lightning.attack.harness import (
    ATTACKS,
    PROMPT_ONLY,
    AttackContext,
    AttackSettings,
    check_prompt_words,
    run_attacks,
)
from sfd_lightning.attack.inputs import attack_examples, attack_target, reference_of, run_folder, spec_of
from sfd_lightning.attack.report import flat, write
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.allow_list import add_trust_argument, apply_trust_argument
from sfd_lightning.judges.protocol import Surrogate
from sfd_lightning.judges.registry import attack_judge
from sfd_lightning.loggers.wandb_run import find_run, report_to_run
from sfd_lightning.pipelines.load import load_pipeline, teacher_of

MAX_TEACHER_STEPS = 1_000  # a DDPM schedule's timesteps: DDIM with more steps than it has is no finer


def floats(text: str, field: str) -> List[float]:
    """Comma-separated numbers (their range is :meth:`AttackSettings.check`'s)."""
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(field, f"expected comma-separated numbers, got {text!r}") from None


def whole_numbers(text: str, field: str) -> List[int]:
    """Comma-separated whole numbers: step budgets."""
    values = floats(text, field)
    if not all(math.isfinite(v) and v == int(v) for v in values):
        raise ConfigError(field, f"expected comma-separated whole numbers, got {text!r}")
    return [int(v) for v in values]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sfd attack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--ckpt",
        required=True,
        help="SFD checkpoint or exported generator folder; or a multi-step model's "
        "checkpoint (a baseline's, a retrained DiffusionModule's), attacked through its --teacher-steps DDIM",
    )
    p.add_argument("--forget-label", type=int, default=None, help="the forgotten class (default: the checkpoint's)")
    p.add_argument(
        "--attack", action="append", default=None, help=f"one of {', '.join(ATTACKS)}, all (default; repeatable)"
    )
    p.add_argument("--teacher", default=None, help="the teacher's weights (default: the run's model.teacher_ckpt)")
    p.add_argument("--skip-teacher", action="store_true", help="attack only the model, not its teacher beside it")
    p.add_argument(
        "--teacher-steps",
        type=int,
        default=10,
        help=f"DDIM steps of the attacked teacher (and multi-step model) sampler, 1 to {MAX_TEACHER_STEPS:,}",
    )
    p.add_argument(
        "--surrogate",
        default="assets/digits_classifier.pt",
        help="classifier asset the attacks optimise "
        "against, or clip:MODEL (CLIP as a zero-shot classifier of the prompt run's class words)",
    )
    p.add_argument(
        "--judge",
        default="assets/digits_judge.pt",
        help="independent judge that also scores them: a classifier "
        "asset, nudenet[:THRESHOLD] (NudeNet's nudity, default 0.6) or identity:FOLDER (the person of the photos)",
    )
    p.add_argument(
        "--examples",
        default="teacher",
        help="embedding attack's examples of the concept: teacher (its DDIM "
        "samples), digits[:split], cifar10:ROOT, an .npz or an image folder (the forgotten class's images)",
    )
    p.add_argument(
        "--reference",
        default=None,
        help="real labelled images for the pinpoint FIDs (digits, cifar10:ROOT, .npz, folder)",
    )
    p.add_argument("--eps", default="0,0.25,0.5,1", help="noise budgets eps (radius eps*sqrt(d))")
    p.add_argument("--pgd-steps", type=int, default=10, help=f"PGD steps per restart (at most {MAX_STEPS:,})")
    p.add_argument("--restarts", type=int, default=2, help=f"PGD restarts (the first from z0), 1 to {MAX_RESTARTS}")
    p.add_argument(
        "--embedding-steps",
        default="0,25,100,200",
        help=f"embedding attack budgets: optimiser steps (each at most {MAX_STEPS:,})",
    )
    p.add_argument(
        "--k-examples", type=int, default=16, help="examples the embedding and relearning attacks fit (<= 16)"
    )
    p.add_argument(
        "--prompt-words",
        type=int,
        default=3,
        help="adversarial prompt: words appended to each forget "
        "prompt (at most what the text encoder reads after the longest forget prompt)",
    )
    p.add_argument(
        "--prompt-steps",
        default="0,25,100",
        help=f"adversarial prompt budgets: PEZ search steps (each at most {MAX_STEPS:,})",
    )
    p.add_argument(
        "--prompt-lr",
        type=float,
        default=0.1,
        help=f"adversarial prompt: Adam learning rate of the search (> 0, at most {MAX_LR:g})",
    )
    p.add_argument(
        "--relearn-steps",
        default="0,50,200,1000",
        help=f"relearning budgets: fine-tuning steps on the examples (each at most {MAX_STEPS:,})",
    )
    p.add_argument(
        "--relearn-lr",
        default="1e-4",
        help="the relearning fine-tuning's Adam learning rates, comma-separated "
        "(a grid: each runs from the released model; tables give each, compare the worst case), each > 0, "
        f"at most {MAX_LR:g}",
    )
    p.add_argument(
        "--relearn-weights",
        default="full",
        help="what relearning fine-tunes, comma-separated: full (every "
        "weight), lora (LoRA adapters on every Linear and Conv2d layer)",
    )
    p.add_argument("--lora-rank", type=int, default=4, help="rank of the LoRA adapters of --relearn-weights lora")
    p.add_argument("--n", type=int, default=200, help="attacked samples per budget")
    p.add_argument("--pinpoint-k", type=int, default=2, help="nearest classes whose collateral is reported (0: none)")
    p.add_argument(
        "--concept", default=None, help="prompt runs: the forgotten concept word (default: the run's data.concept)"
    )
    p.add_argument(
        "--prompts",
        default=None,
        help="prompt runs: prompt file split by the concept (default: the run's retained_prompts)",
    )
    p.add_argument(
        "--class-words", default=None, help="prompt runs: the judges' class words, comma-separated (default: the run's)"
    )
    p.add_argument("--paraphrases", default=None, help="prompt runs: held-out wordings of the concept, one per line")
    p.add_argument("--out", default=None, help="output folder (default: <run folder>/attack)")
    p.add_argument(
        "--overwrite", action="store_true", help="replace an earlier attack's files in --out (default: refuse)"
    )
    p.add_argument("--wandb-run", default=None, help="add the numbers to this W&B run (a run path, or the checkpoint)")
    p.add_argument("--seed", type=int, default=0, help="noise seed")
    add_trust_argument(p)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device")
    return p


def settings_of(args: argparse.Namespace, prompt_run: bool) -> AttackSettings:
    chosen = args.attack or ["all"]
    attacks = [a for a in ATTACKS if a not in PROMPT_ONLY or prompt_run] if "all" in chosen else chosen
    steps = whole_numbers(args.embedding_steps, "--embedding-steps")
    relearn = whole_numbers(args.relearn_steps, "--relearn-steps")
    prompt_steps = whole_numbers(args.prompt_steps, "--prompt-steps")
    settings = AttackSettings(
        attacks=attacks,
        n=args.n,
        eps=floats(args.eps, "--eps"),
        pgd_steps=args.pgd_steps,
        restarts=args.restarts,
        embedding_steps=steps,
        k_examples=args.k_examples,
        pinpoint_k=args.pinpoint_k,
        relearn_steps=relearn,
        relearn_lr=floats(args.relearn_lr, "--relearn-lr"),
        relearn_weights=[w.strip() for w in args.relearn_weights.split(",") if w.strip()],
        lora_rank=args.lora_rank,
        prompt_words=args.prompt_words,
        prompt_steps=prompt_steps,
        prompt_lr=args.prompt_lr,
        seed=args.seed,
    )
    settings.check()
    check_range("--teacher-steps", args.teacher_steps, 1, MAX_TEACHER_STEPS)
    return settings


def main(argv: Optional[List[str]] = None) -> None:
    attack(**vars(build_parser().parse_args(argv)))


def listed(value: Any) -> str:
    """A list argument (or one value) as its option's comma-separated text."""
    return ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def attack(
    ckpt: str,
    *,
    forget_label: Optional[int] = None,
    attack: Union[str, Sequence[str], None] = None,
    teacher: Optional[str] = None,
    skip_teacher: bool = False,
    teacher_steps: int = 10,
    surrogate: str = "assets/digits_classifier.pt",
    judge: str = "assets/digits_judge.pt",
    examples: str = "teacher",
    reference: Optional[str] = None,
    eps: Union[str, float, Sequence[float]] = "0,0.25,0.5,1",
    pgd_steps: int = 10,
    restarts: int = 2,
    embedding_steps: Union[str, Sequence[int]] = "0,25,100,200",
    k_examples: int = 16,
    prompt_words: int = 3,
    prompt_steps: Union[str, Sequence[int]] = "0,25,100",
    prompt_lr: float = 0.1,
    relearn_steps: Union[str, Sequence[int]] = "0,50,200,1000",
    relearn_lr: Union[str, float, Sequence[float]] = "1e-4",
    relearn_weights: Union[str, Sequence[str]] = "full",
    lora_rank: int = 4,
    n: int = 200,
    pinpoint_k: int = 2,
    concept: Optional[str] = None,
    prompts: Optional[str] = None,
    class_words: Union[str, Sequence[str], None] = None,
    paraphrases: Optional[str] = None,
    out: Optional[str] = None,
    overwrite: bool = False,
    wandb_run: Optional[str] = None,
    seed: int = 0,
    trust_classes: Optional[str] = None,
    device: Optional[str] = None,
) -> Dict[str, str]:
    """``sfd attack``: the arguments are its options (``attack``: one name or a list; budgets and the other
    comma-separated options: a list or the text; ``device``: default cuda if there is one). Returns the files
    written (``json``, ``md``, ``png``)."""
    args = argparse.Namespace(**locals())  # the options, as the helpers below read them
    args.attack = [attack] if isinstance(attack, str) else (list(attack) if attack else None)
    for name in ("eps", "embedding_steps", "prompt_steps", "relearn_steps", "relearn_lr", "relearn_weights"):
        setattr(args, name, listed(getattr(args, name)))
    args.class_words = listed(class_words) if class_words is not None else None
    args.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    apply_trust_argument(args)
    device = torch.device(args.device)
    run = find_run(args.wandb_run) if args.wandb_run else None  # checked before any work
    target = attack_target(load_pipeline(args.ckpt, steps=args.teacher_steps, device=device))
    teacher, meta = teacher_of(target, args.teacher, args.teacher_steps, device), target.meta
    if args.forget_label is not None:
        meta["forget_label"] = args.forget_label
    spec = spec_of(meta, target, args)
    settings = settings_of(args, spec.context is not None)
    check_prompt_words([target] if args.skip_teacher else [teacher, target], settings, spec)
    out = args.out or os.path.join(run_folder(args.ckpt) or "runs", "attack")
    if os.path.exists(os.path.join(out, "attack.json")) and not args.overwrite:
        raise ConfigError(
            "--out", f"{out!r} holds an earlier attack (attack.json); give another --out, or --overwrite to replace it"
        )
    judges = {
        role: attack_judge(text, f"--{role}", role, spec.forget_class, device, spec.class_words)
        for role, text in (("surrogate", args.surrogate), ("judge", args.judge))
    }
    examples, retained = attack_examples(args.examples, spec, teacher, settings, device)
    reference, features = reference_of(args.reference, args.surrogate) if settings.pinpoint_k else (None, None)
    ctx = AttackContext(
        spec,
        Surrogate(judges["surrogate"]),
        judges,
        settings,
        device,
        examples,
        reference,
        features,
        retained,
    )
    result = run_attacks([target] if args.skip_teacher else [teacher, target], ctx)
    result["ckpt"] = args.ckpt
    paths = write(result, out)
    with open(paths["md"]) as f:
        print(f.read())
    print("wrote " + ", ".join(paths.values()) + f" ({result['seconds']:.0f} s)")
    if run is not None:
        report_to_run(run, flat(result), "", paths["json"])
    return paths
