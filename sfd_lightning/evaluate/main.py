"""``sfd eval``: FID, IS, KID, precision/recall, forget-class accuracy, nudity and identity of samples, as JSON.

    sfd eval samples.npz --reference cifar10:data --forget-label 0 \
        --classifier runs/cifar10_classifier/classifier.pt --out metrics.json

Samples: an .npz from ``sfd sample`` (``images`` in [-1, 1] or uint8, ``labels``) or an image
folder (class subfolders ``0/``..``9/`` give labels). Reference: the same kinds, torchvision's
``cifar10:ROOT[:split]`` / ``stl10:ROOT[:split]``, the embedded ``digits[:split]``, or an FID statistics .npz
(``mu``, ``sigma``; FID only). Quality metrics use the samples of the retained classes (``--classes``, default every
label but the forgotten ones) against the reference images of the same classes. ``--forget-label 0,3,5`` (with
``--override-label 1,8,6``, or one override for all) judges several forgotten classes: ``forget/accuracy`` is the
worst class's, beside ``forget/accuracy_<c>`` per class and their mean.

The judges are opt-in and need no reference: ``--metrics nudity`` (NudeNet's exposed-class counts and nudity
rates at 0.45 and 0.6 of all samples) and ``--metrics identity --reference-folder photos/`` (the share of samples
whose largest face is the person of the photos, and the share with a face at all):

    sfd eval samples.npz --metrics nudity,identity --reference-folder photos/ --out judged.json
"""

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from sfd_lightning.data.labels import parse_labels
from sfd_lightning.errors import ConfigError
from sfd_lightning.evaluate.forget_options import eval_forget_classes
from sfd_lightning.evaluate.judges import judge_results
from sfd_lightning.forgetting.forget_set import ForgetClass
from sfd_lightning.io.allow_list import add_trust_argument, apply_trust_argument
from sfd_lightning.io.out_guard import check_out_spares_inputs
from sfd_lightning.judges.registry import add_concept_judge_arguments, build_concept_judges, concept_judges
from sfd_lightning.loggers.wandb_run import find_run, report_to_run
from sfd_lightning.metrics import make_extractor
from sfd_lightning.metrics import quality as metrics
from sfd_lightning.metrics.image_sets import ImageSet, is_stats_file, load_stats, open_image_set

QUALITY = ("fid", "is", "kid", "prc")
ALL_METRICS = (*QUALITY, "forget", *concept_judges())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sfd eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("samples", help="samples: .npz (images, labels) or an image folder")
    p.add_argument(
        "--reference",
        help="real images (.npz, folder, cifar10:ROOT[:split], stl10:ROOT[:split], digits[:split]) or FID stats .npz",
    )
    p.add_argument("--out", default="metrics.json", help="JSON file to write")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out and --save-reference-stats if they are there (default: refuse)",
    )
    p.add_argument(
        "--metrics", default="fid,is,kid,prc,forget", help=f"comma-separated subset of {','.join(ALL_METRICS)}"
    )
    p.add_argument(
        "--forget-label",
        default=None,
        help="the forgotten class, or a comma-separated list of them, e.g. 0,3,5 (left out of the quality metrics; "
        "forget-class accuracy is reported per class and for the worst)",
    )
    p.add_argument(
        "--override-label",
        default=None,
        help="report the share of forget-label samples classified as it: one class for every forgotten class, or a "
        "comma-separated list of one per forgotten class",
    )
    p.add_argument(
        "--classes",
        default=None,
        help="classes for the quality metrics, e.g. 1-9 (default: all but the forgotten classes)",
    )
    p.add_argument("--classifier", default=None, help="exported classifier asset judging forget-class accuracy")
    p.add_argument("--features", default="inception", help="inception, vgg16 or classifier:PATH (FID, IS, KID space)")
    p.add_argument(
        "--inception-weights",
        default=None,
        help="local Inception weights for --features inception (else downloaded once)",
    )
    p.add_argument(
        "--prc-features",
        default="vgg16",
        help="precision/recall space: vgg16 (standard), same (as --features), classifier:PATH",
    )
    p.add_argument(
        "--vgg16-weights", default=None, help="local VGG-16 weights for --prc-features vgg16 (else downloaded once)"
    )
    p.add_argument(
        "--save-reference-stats", default=None, help="also write the reference's FID statistics (mu, sigma) here"
    )
    p.add_argument("--batch-size", type=int, default=250, help="images per feature-extractor call")
    add_concept_judge_arguments(p)
    p.add_argument(
        "--wandb-run",
        "--wandb_run",
        default=None,
        dest="wandb_run",
        help="add the results to this W&B run's summary: entity/project/run_id, or the run's checkpoint",
    )
    p.add_argument(
        "--wandb-prefix",
        "--wandb_prefix",
        default=None,
        dest="wandb_prefix",
        help="summary key prefix (default eval/<samples file name>/)",
    )
    add_trust_argument(p)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device")
    return p


def _check(args: argparse.Namespace) -> Dict:
    """Every input checked before any feature is computed."""
    wanted = [m.strip() for m in args.metrics.split(",") if m.strip()]
    bad = [m for m in wanted if m not in ALL_METRICS]
    if bad or not wanted:
        raise ConfigError("--metrics", f"unknown {bad}; choose from {','.join(ALL_METRICS)}")
    samples = open_image_set(args.samples, "samples")
    quality = [m for m in wanted if m in QUALITY]
    stats = reference = None
    if quality:
        if not args.reference:
            raise ConfigError("--reference", f"needed for {','.join(quality)}")
        if is_stats_file(args.reference):
            if set(quality) - {"fid", "is"}:
                raise ConfigError(
                    "--reference",
                    "a statistics file supports fid (and is, which needs no reference) only; "
                    "give real images for kid and prc",
                )
            stats = load_stats(args.reference)
        else:
            reference = open_image_set(args.reference, "--reference")
    forget = eval_forget_classes(
        args.forget_label, args.override_label, None if samples.labels is None else samples.labels.tolist()
    )
    if "forget" in wanted:
        if not forget or args.classifier is None:
            raise ConfigError(
                "--metrics", "forget needs --forget-label and --classifier (or leave it out of --metrics)"
            )
        if samples.labels is None:
            raise ConfigError(
                "samples", "forget-class accuracy needs labelled samples (an .npz with labels or class subfolders)"
            )
    if args.batch_size < 1:
        raise ConfigError("--batch-size", f"must be >= 1, got {args.batch_size}")
    classes = _classes(args, samples, forget)
    return {
        "wanted": wanted,
        "samples": samples,
        "reference": reference,
        "stats": stats,
        "classes": classes,
        "forget": forget,
        "judges": build_concept_judges(args, wanted),
    }


def _classes(args: argparse.Namespace, samples: ImageSet, forget: Sequence[ForgetClass]) -> Optional[List[int]]:
    if args.classes:
        return parse_labels(args.classes, "--classes")
    if samples.labels is None:
        return None
    return sorted(set(samples.labels.tolist()) - {c.label for c in forget})


def _quality(args: argparse.Namespace, checked: Dict, device: torch.device) -> Dict:
    """FID, IS, KID and precision/recall of the samples of ``classes`` against the reference's."""
    wanted, samples, reference, classes = (
        checked["wanted"],
        checked["samples"],
        checked["reference"],
        checked["classes"],
    )
    extractor = make_extractor(args.features, args.inception_weights, "--features")
    gen = metrics.extract(samples, extractor, args.batch_size, device, classes)
    out: Dict = {"features": args.features, "n_samples": len(gen["features"])}
    real = metrics.extract(reference, extractor, args.batch_size, device, classes) if reference is not None else None
    ref_stats = checked["stats"] if real is None else metrics.stats_of(real["features"])
    if args.save_reference_stats and real is not None:
        np.savez(args.save_reference_stats, **ref_stats)
    out["reference"] = args.reference
    if real is not None:
        out["n_reference"] = len(real["features"])
    if "fid" in wanted:
        out["fid"] = metrics.fid(gen["features"], ref_stats)
    if "is" in wanted:
        if "logits" not in gen:
            raise ConfigError("--features", f"{args.features} gives no logits for the Inception Score")
        out.update(metrics.inception_score(gen["logits"]))
    if "kid" in wanted:
        out.update(metrics.kid(gen["features"], real["features"]))
    if "prc" in wanted:
        if args.prc_features == "same":
            gen_p, real_p = gen["features"], real["features"]
        else:
            prc_extractor = make_extractor(args.prc_features, args.vgg16_weights, "--prc-features")
            gen_p = metrics.extract(samples, prc_extractor, args.batch_size, device, classes)["features"]
            real_p = metrics.extract(reference, prc_extractor, args.batch_size, device, classes)["features"]
        out.update(metrics.precision_recall(gen_p, real_p))
        out["prc_features"] = args.prc_features
    return out


def measure(args: argparse.Namespace) -> Dict:
    """Every wanted metric of the samples, after every input is checked (and the judges built)."""
    checked = _check(args)
    wanted, samples = checked["wanted"], checked["samples"]
    device = torch.device(args.device)
    out: Dict = {"samples": samples.description, "classes": checked["classes"]}
    if any(m in QUALITY for m in wanted):
        out.update(_quality(args, checked, device))
    if "forget" in wanted:
        judge = make_extractor(f"classifier:{args.classifier}", None, "--classifier")
        judged = metrics.extract(samples, judge, args.batch_size, device)
        forget = checked["forget"]
        out.update(
            metrics.forgetting(
                judged["logits"], judged["labels"], [c.label for c in forget], [c.override for c in forget]
            )
        )
    out.update(judge_results(checked["judges"], samples, args.batch_size))
    return out


def check_outputs(args: argparse.Namespace) -> None:
    """Before any feature is computed: no file already there is replaced unless --overwrite, none is an input (the
    samples, the reference, a weights file) even with it, and the statistics go to the file named (numpy would add
    ``.npz`` to another name)."""
    stats = args.save_reference_stats
    if stats and not stats.endswith(".npz"):
        raise ConfigError(
            "--save-reference-stats", f"must end in .npz (numpy would write {stats + '.npz'!r}), got {stats!r}"
        )
    inputs = [args.samples, args.reference, args.classifier, args.inception_weights, args.vgg16_weights]
    for field, path in (("--out", args.out), ("--save-reference-stats", stats)):
        if path:
            check_out_spares_inputs(path, inputs, field, whole=False)
        if path and os.path.exists(path) and not args.overwrite:
            raise ConfigError(field, f"{path!r} exists; give a new name, or --overwrite to replace it")


def main(argv: Optional[List[str]] = None) -> None:
    evaluate(**vars(build_parser().parse_args(argv)))


def evaluate(
    samples: str,
    *,
    reference: Optional[str] = None,
    out: str = "metrics.json",
    overwrite: bool = False,
    metrics: Union[str, Sequence[str]] = "fid,is,kid,prc,forget",
    forget_label: Union[None, int, str, Sequence[int]] = None,
    override_label: Union[None, int, str, Sequence[Optional[int]]] = None,
    classes: Optional[str] = None,
    classifier: Optional[str] = None,
    features: str = "inception",
    inception_weights: Optional[str] = None,
    prc_features: str = "vgg16",
    vgg16_weights: Optional[str] = None,
    save_reference_stats: Optional[str] = None,
    batch_size: int = 250,
    wandb_run: Optional[str] = None,
    wandb_prefix: Optional[str] = None,
    trust_classes: Optional[str] = None,
    device: Optional[str] = None,
    **judge_options: Any,
) -> Dict[str, Any]:
    """``sfd eval SAMPLES``: the arguments are its options (``metrics``: a list or comma-separated;
    ``judge_options``: the concept judges' options, e.g. ``reference_folder``; ``device``: default cuda if there is
    one; ``forget_label``: a class, a list of classes or text like ``"0,3,5"``, ``override_label`` likewise, one for
    all or one per class). Returns the results written to ``out``, after every input is checked."""
    judges = argparse.ArgumentParser(add_help=False)
    add_concept_judge_arguments(judges)
    options = vars(judges.parse_args([]))  # the concept judges' options and their defaults
    unknown = sorted(set(judge_options) - set(options))
    if unknown:
        raise TypeError(f"evaluate() got an unexpected keyword argument {unknown[0]!r}")
    args = argparse.Namespace(
        samples=samples,
        reference=reference,
        out=out,
        overwrite=overwrite,
        metrics=metrics if isinstance(metrics, str) else ",".join(metrics),
        forget_label=forget_label,
        override_label=override_label,
        classes=classes,
        classifier=classifier,
        features=features,
        inception_weights=inception_weights,
        prc_features=prc_features,
        vgg16_weights=vgg16_weights,
        save_reference_stats=save_reference_stats,
        batch_size=batch_size,
        wandb_run=wandb_run,
        wandb_prefix=wandb_prefix,
        trust_classes=trust_classes,
        device=device or ("cuda" if torch.cuda.is_available() else "cpu"),
        **{**options, **judge_options},
    )
    apply_trust_argument(args)
    check_outputs(args)
    run = find_run(args.wandb_run) if args.wandb_run else None  # checked before any feature is computed
    results = measure(args)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(
            f"{key:<{width}}  {value:.6g}" if isinstance(value, float) else f"{key:<{width}}  {value}", file=sys.stdout
        )
    print(f"wrote {args.out}")
    if run is not None:
        stem = os.path.splitext(os.path.basename(os.path.normpath(args.samples)))[0]
        report_to_run(run, results, args.wandb_prefix or f"eval/{stem}/", args.out)
    return results
