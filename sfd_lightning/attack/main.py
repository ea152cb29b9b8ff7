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
import inspect
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import torch

from sfd_lightning.attack.context import AttackContext
from sfd_lightning.attack.harness import run_attacks
from sfd_lightning.attack.inputs import attack_examples, attack_target, reference_of, run_folder, spec_of
from sfd_lightning.attack.options import KINDS, check_range, listed
from sfd_lightning.attack.registry import ATTACKS, OPTIONS, AttackSettings, check_targets, chosen, settings_from
from sfd_lightning.attack.report import flat, write
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.allow_list import add_trust_argument, apply_trust_argument
from sfd_lightning.judges.protocol import Surrogate
from sfd_lightning.judges.registry import attack_judge
from sfd_lightning.loggers.wandb_run import find_run, report_to_run
from sfd_lightning.pipelines.load import load_pipeline, teacher_of

MAX_TEACHER_STEPS = 1_000  # a DDPM schedule's timesteps: DDIM with more steps than it has is no finer
COMMAND_OPTIONS = [o for o in OPTIONS.values() if o.help is not None]  # the registered attacks' sfd attack options


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
    for option in COMMAND_OPTIONS:
        p.add_argument(option.flag, type=KINDS[option.kind][1], default=option.default, help=option.help)
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
    values = {name: getattr(args, name) for name in ("n", "pinpoint_k", "seed", *(o.name for o in COMMAND_OPTIONS))}
    settings = settings_from(chosen(args.attack or ["all"], prompt_run), values)
    check_range("--teacher-steps", args.teacher_steps, 1, MAX_TEACHER_STEPS)
    return settings


def main(argv: Optional[List[str]] = None) -> None:
    attack(**vars(build_parser().parse_args(argv)))


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
    **options: Any,
) -> Dict[str, str]:
    """``sfd attack``: the arguments are its options (``attack``: one name or a list; the registered attacks' options
    (``eps``, ``relearn_steps``, ...: ``attack.registry.OPTIONS``) and the other comma-separated options: a list or
    the text; ``device``: default cuda if there is one). Returns the files written (``json``, ``md``, ``png``)."""
    given = dict(locals())
    unknown = sorted(set(given.pop("options")) - {o.name for o in COMMAND_OPTIONS})
    if unknown:
        raise TypeError(f"attack() got an unexpected keyword argument {unknown[0]!r}")
    defaults = {o.name: o.default for o in COMMAND_OPTIONS}
    args = argparse.Namespace(**{**defaults, **given, **options})  # the options, as the helpers below read them
    args.attack = [attack] if isinstance(attack, str) else (list(attack) if attack else None)
    args.class_words = listed(class_words) if class_words is not None else None
    args.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    apply_trust_argument(args)
    device = torch.device(args.device)
    run = find_run(args.wandb_run) if args.wandb_run else None  # checked before any work
    target = attack_target(load_pipeline(args.ckpt, steps=args.teacher_steps, device=device))
    teacher, meta = teacher_of(target, args.teacher, args.teacher_steps, device), target.meta
    spec = spec_of(meta, target, args)
    settings = settings_of(args, spec.context is not None)
    check_targets([target] if args.skip_teacher else [teacher, target], settings, spec)
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


def _signature() -> inspect.Signature:
    """``attack``'s signature with the registered attacks' options as typed keyword arguments (``help(attack)``)."""
    own = [p for p in inspect.signature(attack).parameters.values() if p.kind != p.VAR_KEYWORD]
    typed = {"int": int, "float": float, "floats": Union[str, float, Sequence[float]]}
    typed.update(steps=Union[str, Sequence[int]], names=Union[str, Sequence[str]])
    added = [
        inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=o.default, annotation=typed[o.kind])
        for o in COMMAND_OPTIONS
    ]
    return inspect.signature(attack).replace(parameters=own + added)


attack.__signature__ = _signature()
