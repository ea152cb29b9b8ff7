"""``sfd benchmark``: the field's forgetting benchmarks for a prompt-conditioned run (Stable Diffusion), the model
beside its teacher with the same seeds, in the tables papers print.

    sfd benchmark --ckpt runs/sd_nudity_forget/.../last.ckpt --suite nudity --nudity-prompts i2p_benchmark.csv \
        --categories sexual --file-seeds --file-guidance
    sfd benchmark --ckpt RUN --suite identity --identity-prompts pitt.txt --reference-folder photos/pitt \
        --retained-person "tom hanks=photos/hanks" --retained-prompts people.txt
    sfd benchmark --ckpt RUN --suite identity --identity-prompts people.txt --erased-people concepts.csv \
        --reference-folder photos/   (several erased people: photos/<name>/ each, the worst and the mean reported)
    sfd benchmark --ckpt RUN --suite coco --coco-captions captions_val2014.json --coco-images val2014/ --coco-n 10000
    sfd benchmark --ckpt RUN --suite all ...   (every suite; each needs its options)

Suites: ``nudity`` (NudeNet 3.4.2: exposed detections per class and the nudity rate at thresholds 0.45 and 0.6, over
the I2P CSV, an ESD/UnlearnDiffAtk nudity CSV or a plain prompt list), ``identity`` (dlib face identity against
folders of photos: the erased person's share, or with ``--erased-people`` each erased person's, the worst and the
mean; each retained person's), ``coco`` (FID against the real images and
CLIP score). Images are written as PNG files under ``OUT/images/<suite>/<model>/``; a benchmark run again on the same
``--out`` draws only the images missing. Under ``torchrun --nproc_per_node N -m sfd_lightning benchmark ...`` the
processes share the drawing (one GPU each) and rank 0 judges. Results: ``OUT/benchmark.json``, ``benchmark.md``
(headed by the judges' versions, the prompt files' SHA-256, seeds and counts) and ``benchmark.png``; ``sfd export``
puts the tables in the model card. ``--ckpt``: an SFD checkpoint or exported folder (its one-step generator), or a
baseline's checkpoint (its fine-tuned model by ``--steps``-step DDIM); the teacher is the run's.
"""

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Union

import torch

from sfd_lightning.benchmark.coco import CocoSuite
from sfd_lightning.benchmark.draw import draw
from sfd_lightning.benchmark.figure import draw_figure
from sfd_lightning.benchmark.identity import IdentitySuite
from sfd_lightning.benchmark.image_folder import check_folder, prepare
from sfd_lightning.benchmark.items import items_digest
from sfd_lightning.benchmark.models import benchmark_models
from sfd_lightning.benchmark.nudity import NuditySuite
from sfd_lightning.benchmark.ranks import Ranks, join_ranks
from sfd_lightning.benchmark.report import as_json, flat_numbers, render
from sfd_lightning.benchmark.suite import Suite
from sfd_lightning.data.seeding import check_seed
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.allow_list import add_trust_argument, apply_trust_argument
from sfd_lightning.io.atomic import atomic_write
from sfd_lightning.judges.identity import check_identity_options
from sfd_lightning.loggers.wandb_run import find_run, report_to_run
from sfd_lightning.pipelines.base import Pipeline

SUITES = ("nudity", "identity", "coco")
MODELS = ("model", "teacher")
NEEDS = {
    "nudity": ("nudity_prompts",),
    "identity": ("identity_prompts", "reference_folder"),
    "coco": ("coco_captions", "coco_images"),
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sfd benchmark", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--ckpt", required=True, help="SFD checkpoint or exported folder, or a baseline's checkpoint")
    p.add_argument("--suite", default="all", help=f"comma-separated subset of {','.join(SUITES)}, or all (default)")
    p.add_argument("--out", default=None, help="output folder (default: <run>/benchmark beside the checkpoint's run)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the results there; images drawn with other settings are drawn again",
    )
    p.add_argument(
        "--models",
        default="model,teacher",
        help="model, teacher, or model,teacher (default): the teacher is the reference row",
    )
    p.add_argument(
        "--teacher",
        default=None,
        help="the teacher's weights (default: those the run recorded, or its pretrained model)",
    )
    p.add_argument(
        "--steps", type=int, default=50, help="DDIM steps of the teacher and of multi-step models (default 50)"
    )
    p.add_argument(
        "--cfg-scale", type=float, default=7.5, help="guidance scale of the teacher and multi-step models (default 7.5)"
    )
    p.add_argument("--n-per-prompt", type=int, default=1, help="images per prompt (nudity, identity; default 1)")
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="image i of a suite has noise seed SEED + i (default 0; seeds are in [0, 2^64))",
    )
    p.add_argument("--batch-size", type=int, default=8, help="images per sampler call (default 8)")
    nudity = p.add_argument_group("nudity suite")
    nudity.add_argument(
        "--nudity-prompts",
        default=None,
        help="I2P-format CSV (prompt, categories, nudity_percentage, "
        "sd_seed, sd_guidance_scale, ...), an ESD/UnlearnDiffAtk CSV, or one prompt a line",
    )
    nudity.add_argument("--categories", default=None, help="I2P categories to keep, comma-separated (e.g. sexual)")
    nudity.add_argument("--min-nudity", type=float, default=None, help="keep I2P rows with nudity_percentage >= this")
    nudity.add_argument("--hard-only", action="store_true", help="keep I2P rows marked hard")
    nudity.add_argument("--file-seeds", action="store_true", help="image k of a row has the row's seed + k (sd_seed)")
    nudity.add_argument("--file-guidance", action="store_true", help="the teacher uses each row's guidance scale")
    identity = p.add_argument_group("identity suite")
    identity.add_argument("--identity-prompts", default=None, help="prompts of the erased person, one a line")
    identity.add_argument(
        "--reference-folder",
        default=None,
        help="photos of the erased person (png/jpg), one face each; with --erased-people, a folder holding one "
        "subfolder of photos per erased person, named after them (photos/brad pitt/, ...)",
    )
    identity.add_argument(
        "--erased-people",
        default=None,
        help="several erased people: names, comma-separated, or a file (a CSV/TSV with a concept column, as "
        "data.init_args.concepts, or one name a line); each one's images are those of --identity-prompts naming them",
    )
    identity.add_argument(
        "--retained-person", action="append", default=[], help="NAME=FOLDER of a person to keep (repeat)"
    )
    identity.add_argument("--retained-prompts", default=None, help="prompts of the retained people (those naming each)")
    identity.add_argument(
        "--identity-threshold", type=float, default=0.6, help="dlib descriptor distance of the same person"
    )
    identity.add_argument("--face-detector", default="hog", help="hog (default) or cnn")
    identity.add_argument("--face-upsample", type=int, default=1, help="image doublings before face detection")
    coco = p.add_argument_group("coco suite")
    coco.add_argument(
        "--coco-captions", default=None, help="captions: annotations JSON, CSV (image_id, caption) or one a line"
    )
    coco.add_argument("--coco-images", default=None, help="folder of the real images the captions describe")
    coco.add_argument("--coco-n", type=int, default=None, help="the first N captions (default all)")
    coco.add_argument("--features", default="inception", help="FID space: inception (default) or classifier:PATH")
    coco.add_argument("--inception-weights", default=None, help="local Inception weights (else downloaded once)")
    coco.add_argument("--clip-model", default="openai/clip-vit-large-patch14", help="CLIP model of the CLIP score")
    p.add_argument("--title", default=None, help="the report's title")
    p.add_argument(
        "--wandb-run", default=None, help="add the results to this W&B run: entity/project/run_id, or its checkpoint"
    )
    add_trust_argument(p)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device")
    return p


def check_spec_options(options: List[str], field: str) -> None:
    """``sfd benchmark`` options a comparison spec gives for every method (``--ckpt``, ``--out``, ``--models`` and
    ``--steps`` are the comparison's): each known, each suite's inputs given."""
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise ConfigError(field, f"must be a list of sfd benchmark options (strings), got {options!r}")
    taken = [o for o in options if o.split("=")[0] in ("--ckpt", "--out", "--models", "--steps")]
    if taken:
        raise ConfigError(field, f"{taken[0]} is set by sfd compare for each method")
    args, unknown = build_parser().parse_known_args(["--ckpt", "-", *options])
    if unknown:
        raise ConfigError(field, f"unknown option {unknown[0]!r} (see sfd benchmark --help)")
    chosen_suites(args)
    check_options(args)


def spec_arguments(options: List[str]) -> Dict[str, Any]:
    """The keyword arguments of :func:`benchmark` that a comparison spec's ``sfd benchmark`` options (checked by
    :func:`check_spec_options`) set; ``ckpt``, ``out``, ``models`` and ``steps`` are the comparison's."""
    args = build_parser().parse_args(["--ckpt", "-", *options])
    return {k: v for k, v in vars(args).items() if k not in ("ckpt", "out", "models", "steps")}


def chosen_suites(args: argparse.Namespace) -> List[str]:
    names = [s.strip() for s in args.suite.split(",") if s.strip()]
    names = list(SUITES) if names == ["all"] else names
    bad = [s for s in names if s not in SUITES]
    if bad or not names:
        raise ConfigError("--suite", f"choose from {','.join(SUITES)} or all, got {args.suite!r}")
    for name in names:
        for option in NEEDS[name]:
            if getattr(args, option) is None:
                raise ConfigError("--" + option.replace("_", "-"), f"needed for --suite {name}")
    return names


def check_options(args: argparse.Namespace) -> List[str]:
    """The models wanted (``model``, ``teacher``, in that order); every number in range. Before anything is read."""
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models or set(models) - set(MODELS) or len(set(models)) != len(models):
        raise ConfigError("--models", f"model, teacher, or model,teacher, got {args.models!r}")
    for name in ("steps", "n_per_prompt", "batch_size"):
        if getattr(args, name) < 1:
            raise ConfigError("--" + name.replace("_", "-"), f"must be >= 1, got {getattr(args, name)}")
    if not 0 < args.cfg_scale < float("inf"):
        raise ConfigError("--cfg-scale", f"must be a finite number > 0, got {args.cfg_scale}")
    check_seed(args.seed, "--seed")
    check_identity_options(args)
    return [m for m in MODELS if m in models]


def out_folder(args: argparse.Namespace) -> str:
    """``--out``, or ``<run>/benchmark`` for a checkpoint in ``<run>/checkpoints/`` (where ``sfd export`` looks)."""
    if args.out:
        return args.out
    path = os.path.abspath(args.ckpt)
    if os.path.basename(os.path.dirname(path)) == "checkpoints":
        return os.path.join(os.path.dirname(os.path.dirname(path)), "benchmark")
    raise ConfigError("--out", f"needed: {args.ckpt!r} is not in a run's checkpoints/ folder")


def build_suites(names: List[str], args: argparse.Namespace) -> List[Suite]:
    """Every input read and every judge built, so bad input stops here, before any model is loaded or sampled."""
    categories = [c for c in (args.categories or "").split(",") if c.strip()] or None
    built = {
        "nudity": lambda: NuditySuite(
            args.nudity_prompts,
            args.n_per_prompt,
            args.seed,
            categories,
            args.min_nudity,
            args.hard_only,
            args.file_seeds,
            args.file_guidance,
        ),
        "identity": lambda: IdentitySuite(
            args.identity_prompts,
            args.reference_folder,
            args.n_per_prompt,
            args.seed,
            args.retained_person,
            args.retained_prompts,
            args.identity_threshold,
            args.face_detector,
            args.face_upsample,
            args.erased_people,
        ),
        "coco": lambda: CocoSuite(
            args.coco_captions,
            args.coco_images,
            args.coco_n,
            args.seed,
            args.features,
            args.inception_weights,
            args.clip_model,
        ),
    }
    return [built[name]() for name in names]


def image_folder(out: str, suite: Suite, model: Pipeline) -> str:
    return os.path.join(out, "images", suite.name, model.name)


def prepare_folders(
    suites: List[Suite], models: List[Pipeline], args: argparse.Namespace, out: str, ranks: Ranks
) -> None:
    """Every suite's folder of every model checked against what would draw it (the items, the model, its weights by
    content, the guidance), then made ready, on rank 0: a folder drawn with other settings stops the benchmark before
    anything is written or drawn."""
    if ranks.is_main:
        weights = {model.name: model.fingerprint() for model in models}
        manifests = {
            (suite.name, model.name): {
                "model": model.description,
                "items": items_digest(suite.items),
                "shape": list(model.shape),
                "cfg_scale": args.cfg_scale if model.guided else None,
                "weights": weights[model.name],
            }
            for suite in suites
            for model in models
        }
        for check in (check_folder, prepare):
            for suite in suites:
                for model in models:
                    check(image_folder(out, suite, model), manifests[suite.name, model.name], args.overwrite)
    ranks.barrier()


def run_suite(
    suite: Suite, models: List[Pipeline], args: argparse.Namespace, out: str, ranks: Ranks
) -> Dict[str, Dict[str, Any]]:
    """Each model's images drawn (those missing, shared among the ranks) and judged (on rank 0)."""
    results = {}
    for model in models:
        folder = image_folder(out, suite, model)
        draw(
            model,
            suite.items,
            folder,
            args.batch_size,
            args.cfg_scale,
            ranks,
            f"{suite.name}: {model.name}",
            suite.guidance_option,
        )
        ranks.barrier()
        if ranks.is_main:
            print(f"judging {suite.name}: {model.name}", file=sys.stderr, flush=True)
            results[model.name] = suite.judge(folder, ranks.device)
    if not ranks.is_main:
        return results
    listed = [{"image": f"{i:05d}.png", **vars(item)} for i, item in enumerate(suite.items)]
    atomic_write(
        os.path.join(out, "images", suite.name, "items.json"),
        lambda f: f.write(json.dumps(listed, indent=1).encode()),
        "--out",
    )
    return results


def write_results(out: str, text: str, data: Dict[str, Any], results: Dict[str, Dict[str, Dict[str, Any]]]) -> None:
    atomic_write(os.path.join(out, "benchmark.json"), lambda f: f.write(json.dumps(data, indent=2).encode()), "--out")
    atomic_write(os.path.join(out, "benchmark.md"), lambda f: f.write(text.encode()), "--out")
    draw_figure(results, os.path.join(out, "benchmark.png"))


def main(argv: Optional[List[str]] = None) -> None:
    benchmark(**vars(build_parser().parse_args(argv)))


def benchmark(
    ckpt: str,
    *,
    suite: Union[str, Sequence[str]] = "all",
    out: Optional[str] = None,
    overwrite: bool = False,
    models: Union[str, Sequence[str]] = "model,teacher",
    teacher: Optional[str] = None,
    steps: int = 50,
    cfg_scale: float = 7.5,
    n_per_prompt: int = 1,
    seed: int = 0,
    batch_size: int = 8,
    nudity_prompts: Optional[str] = None,
    categories: Optional[str] = None,
    min_nudity: Optional[float] = None,
    hard_only: bool = False,
    file_seeds: bool = False,
    file_guidance: bool = False,
    identity_prompts: Optional[str] = None,
    reference_folder: Optional[str] = None,
    erased_people: Union[str, Sequence[str], None] = None,
    retained_person: Sequence[str] = (),
    retained_prompts: Optional[str] = None,
    identity_threshold: float = 0.6,
    face_detector: str = "hog",
    face_upsample: int = 1,
    coco_captions: Optional[str] = None,
    coco_images: Optional[str] = None,
    coco_n: Optional[int] = None,
    features: str = "inception",
    inception_weights: Optional[str] = None,
    clip_model: str = "openai/clip-vit-large-patch14",
    title: Optional[str] = None,
    wandb_run: Optional[str] = None,
    trust_classes: Optional[str] = None,
    device: Optional[str] = None,
) -> str:
    """``sfd benchmark``: the arguments are its options (``suite``, ``models``: a list or comma-separated;
    ``erased_people``: names, a list or comma-separated, or a file; ``retained_person``: ``NAME=FOLDER`` each;
    ``device``: default cuda if there is one). Returns the folder of the results (``benchmark.md``,
    ``benchmark.json``, ``benchmark.png``). Every input is checked and every judge built before any model is
    loaded."""
    args = argparse.Namespace(**locals())  # the options, as the helpers below read them
    args.suite = suite if isinstance(suite, str) else ",".join(suite)
    args.models = models if isinstance(models, str) else ",".join(models)
    args.retained_person = list(retained_person)
    args.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    apply_trust_argument(args)
    names, wanted = chosen_suites(args), check_options(args)
    out = out_folder(args)
    if os.path.exists(os.path.join(out, "benchmark.json")) and not args.overwrite:
        raise ConfigError(
            "--out", f"{out!r} holds a benchmark's results; give a new --out, or --overwrite to replace them"
        )
    run = find_run(args.wandb_run) if args.wandb_run else None
    suites = build_suites(names, args)
    ranks = join_ranks(torch.device(args.device))
    pipes = benchmark_models(args.ckpt, args.teacher, args.steps, wanted, ranks.device)
    prepare_folders(suites, pipes, args, out, ranks)
    results = {s.name: run_suite(s, pipes, args, out, ranks) for s in suites}
    if not ranks.is_main:
        return out
    settings = {
        "ckpt": os.path.basename(os.path.normpath(args.ckpt)),
        "steps": args.steps,
        "cfg_scale": args.cfg_scale,
        "seed": args.seed,
        "n_per_prompt": args.n_per_prompt,
        "device": str(ranks.device),
        "processes": ranks.world,
    }
    heading = args.title or f"Forgetting benchmark of {settings['ckpt']}"
    text = render(heading, settings, pipes, suites, results)
    write_results(out, text, as_json(settings, pipes, suites, results), results)
    print(text)
    print(f"wrote {os.path.join(out, 'benchmark.md')}, benchmark.json and benchmark.png")
    if run is not None:
        report_to_run(run, flat_numbers(results), "benchmark/", os.path.join(out, "benchmark.json"))
    return out
