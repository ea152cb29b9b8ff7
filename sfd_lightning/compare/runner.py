"""Train one method of a comparison (``sfd fit`` in a child process, timed), then score it in this process with
the functions under the commands a user runs: ``sample`` for each noise seed, ``evaluate``, ``attack`` and
``benchmark``. A method whose checkpoint is already in the output folder is not trained again (a stopped
comparison resumes)."""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

from sfd_lightning.attack.registry import ATTACKS
from sfd_lightning.compare.forgotten import labels_text, several
from sfd_lightning.compare.per_class import attack_folder, combine_seeds, worst_attacks
from sfd_lightning.compare.record import RECORD
from sfd_lightning.compare.spec import CompareSpec, Method
from sfd_lightning.data.prompts import class_of
from sfd_lightning.diffusion.conditions import Condition, cycled
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.out_guard import check_out_spares_inputs
from sfd_lightning.metrics.spread import with_spread
from sfd_lightning.runtime.children import children

CHECKPOINT = [
    {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"save_last": True, "save_top_k": 0}}
]


def fit_args(method: Method, spec: CompareSpec, folder: str) -> List[str]:
    """``sfd fit`` options: the method's config, this comparison's pair, its folder, no logger, only the last
    checkpoint (the table's evaluation is the same for all, outside the run)."""
    if spec.prompts and isinstance(spec.prompts["concept"], list):
        concepts = [
            {"concept": c, "replacement": r} for c, r in zip(spec.prompts["concept"], spec.prompts["replacement"])
        ]
        pair = [
            f"--data.init_args.concepts={json.dumps(concepts)}",
            f"--data.init_args.retained_prompts={spec.prompts['file']}",
        ]
    elif spec.prompts:
        pair = [
            f"--data.init_args.concept={spec.prompts['concept']}",
            f"--data.init_args.replacement={spec.prompts['replacement']}",
            f"--data.init_args.retained_prompts={spec.prompts['file']}",
        ]
    elif method.retrain:
        forgotten = spec.forget_label if several(spec) else [spec.forget_label]
        pair = [f"--data.init_args.labels={[c for c in range(spec.num_classes) if c not in forgotten]}"]
    else:
        pair = [
            f"--model.init_args.forget_label={labels_text(spec.forget_label)}",
            f"--model.init_args.override_label={labels_text(spec.override_label)}",
        ]
    return [
        "fit",
        "--config",
        method.config,
        *pair,
        f"--trainer.default_root_dir={folder}",
        "--trainer.logger=false",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_checkpointing=true",
        f"--trainer.callbacks={json.dumps(CHECKPOINT)}",
        *method.args,
    ]


def last_checkpoint(folder: str) -> Optional[str]:
    found = [os.path.join(d, f) for d, _, files in os.walk(folder) for f in files if f == "last.ckpt"]
    return max(found, key=os.path.getmtime) if found else None


def train(method: Method, spec: CompareSpec, folder: str, log=print) -> Dict[str, Any]:
    """(checkpoint, training seconds) of the method; trained unless its checkpoint and timing are already there.
    A fit that did not finish is started afresh in an emptied folder: its time would not be the whole fit's, and
    ``sfd fit`` starts no run beside another's files (``run_lock``)."""
    if method.config is None:
        return {"ckpt": method.ckpt, "train_seconds": None}
    record = os.path.join(folder, "train.json")
    if os.path.isfile(record) and last_checkpoint(folder):
        with open(record) as f:
            return {"ckpt": last_checkpoint(folder), **json.load(f)}
    inputs = [method.config, *method.args, (spec.prompts or {}).get("file")]  # args: a --config overlay's path
    check_out_spares_inputs(folder, inputs, "--out")  # emptied next: it must hold no input
    empty_folder(folder)  # what was scored of an unfinished fit goes with it
    log(f"{method.name}: sfd fit --config {method.config}")
    start = time.perf_counter()
    with open(os.path.join(folder, "fit.log"), "w") as out:
        returncode = children.run(
            [sys.executable, "-m", "sfd_lightning", *fit_args(method, spec, folder)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # owned: a signal to this process stops the fit too
    seconds = round(time.perf_counter() - start, 1)
    ckpt = last_checkpoint(folder)
    if returncode != 0 or ckpt is None:
        raise ConfigError(f"methods.{method.name}", f"sfd fit failed (exit {returncode}); see {folder}/fit.log")
    with open(record, "w") as f:
        json.dump({"train_seconds": seconds}, f)
    return {"ckpt": ckpt, "train_seconds": seconds}


def empty_folder(folder: str) -> None:
    """Remove what ``folder`` holds but its method record (``record.RECORD``)."""
    os.makedirs(folder, exist_ok=True)
    for entry in os.listdir(folder):
        path = os.path.join(folder, entry)
        if entry != RECORD:
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


def speed_conditions(spec: CompareSpec, batch: int) -> Condition:
    """What the speed test conditions on: the classes in turn, or the spec's prompts in turn."""
    return cycled(spec.prompt_list(), batch) if spec.prompts else torch.arange(batch) % spec.num_classes


def sampler_speed(ckpt: str, steps: int, batch: int, conditions: Condition) -> float:
    """Images/s of the method's own sampler here (``metrics.throughput.images_per_second``: best of 3 timed batches)."""
    from sfd_lightning.metrics.throughput import images_per_second
    from sfd_lightning.pipelines.load import load_pipeline

    pipe = load_pipeline(ckpt, steps=steps, device="cpu")
    z, y = torch.randn(batch, *pipe.shape), conditions
    return images_per_second(lambda: pipe.draw(z, y, clamp=False), batch, repeats=3)


def label_by_prompt(npz: str, class_words: List[str]) -> None:
    """Give the prompt samples of ``npz`` the ``labels`` ``sfd eval`` scores: the class each one's prompt names."""
    with np.load(npz) as data:
        arrays = dict(data)
    arrays["labels"] = np.array([class_of(str(p), class_words, "prompts.class_words") for p in arrays["prompts"]])
    np.savez(npz, **arrays)


def evaluate(method: Method, ckpt: str, spec: CompareSpec, folder: str) -> Dict[str, Any]:
    """Forget, override and retained accuracy and the retained classes' FID over the spec's noise seeds: every
    method's samples are drawn by ``sfd sample`` with the same seeds (per class, or per prompt of a prompt
    comparison, labelled with the class the prompt names) and scored by ``sfd eval`` alike (several forgotten
    classes: each one's forget accuracy, the worst and the mean)."""
    from sfd_lightning.evaluate.main import evaluate as evaluate_samples
    from sfd_lightning.sample.main import sample

    ev, per_seed = spec.evaluation, []
    for seed in ev["seeds"]:
        npz, out = os.path.join(folder, f"samples_s{seed}.npz"), os.path.join(folder, f"eval_s{seed}.json")
        if not os.path.isfile(out):
            what = {"prompts_file": spec.prompts["file"]} if spec.prompts else {"labels": f"0-{spec.num_classes - 1}"}
            sample(
                ckpt, steps=method.steps, **what, n_per_label=ev["n_per_label"], seed=seed, out=npz, overwrite=True
            )  # a stop before its eval left it
            if spec.prompts:
                label_by_prompt(npz, spec.prompts["class_words"])
            evaluate_samples(
                npz,
                reference=ev["reference"],
                metrics="fid,forget",
                forget_label=spec.forget_label,
                override_label=spec.override_label,
                classifier=ev["classifier"],
                features=ev["features"],
                out=out,
            )
        with open(out) as f:
            per_seed.append(json.load(f))
    if several(spec):  # each class averaged over the seeds, then the worst and the mean (compare.per_class)
        result = combine_seeds(per_seed, spec.forget_label)
    else:
        keys = ("forget/accuracy", "forget/override_rate", "retained/accuracy")
        result = {k: statistics.fmean(r[k] for r in per_seed) for k in keys if all(k in r for r in per_seed)}
    if all("fid" in r for r in per_seed):
        result.update(with_spread("fid", [r["fid"] for r in per_seed]))  # mean and half the range, as FIDCallback
    return result


ATTACK_KEYS = {name: a.column for name, a in ATTACKS.items() if a.column}  # attack -> its columns' key


def attack_columns(rows: List[Dict[str, Any]]) -> Dict[str, float]:
    """The judge's success rate by column; a fine-tuning column (``relearn 50 steps``, ``relearn LoRA 50 steps``) holds
    the worst case over the learning-rate grid, as an attacker keeps the rate that brings the concept back (a rate
    whose search diverged has no rate to keep: None unless another rate has one)."""
    out: Dict[str, float] = {}
    for r in rows:
        lora = " LoRA" if str(r.get("weights", "full")).startswith("lora") else ""
        key, value = ATTACK_KEYS[r["attack"]].format(budget=r["budget"], lora=lora), r["success"]["judge"]
        out[key] = value if out.get(key) is None else out[key] if value is None else max(out[key], value)
    return out


def compared_attacks(spec: CompareSpec) -> Tuple[List[str], Dict[str, Any]]:
    """(the registered attacks with a column the spec runs, the options passed on from its ``attack``): an attack runs
    always (its compared options required) or when the spec gives its ``compare_when`` key (its compared options as
    given); prompt-only attacks on prompt comparisons only."""
    a, attacks, options = spec.attack, [], {}
    for name, declared in ATTACKS.items():
        if declared.column is None or (declared.prompt_only and not spec.prompts):
            continue
        if declared.compare_when is None or a.get(declared.compare_when):
            attacks.append(name)
            always = declared.compare_when is None
            options.update({o.name: a[o.name] for o in declared.options if o.compare and (always or o.name in a)})
    return attacks, options


def attack(method: Method, ckpt: str, spec: CompareSpec, folder: str) -> Dict[str, float]:
    """The spec's attacks on the method (``sfd attack``; a multi-step model through its teacher-steps DDIM): the
    independent judge's success rate at each budget, keyed ``noise eps E`` / ``embedding S steps``; a prompt spec
    with ``prompt_steps``: ``adversarial prompt S steps``; a spec with ``relearn_steps``: ``relearn S steps`` /
    ``benign S steps`` (fine-tuning on K examples; ``relearn LoRA S steps`` ... for LoRA). Several forgotten classes
    or concepts are attacked one at a time, each column the worst of them."""
    if several(spec):  # each forgotten class or concept attacked alone; each column its worst case
        concepts = spec.prompts["concept"] if spec.prompts else [None] * len(spec.forget_label)
        return worst_attacks(
            [
                attack_one(method, ckpt, spec, attack_folder(folder, concept or label), label, concept)
                for label, concept in zip(spec.forget_label, concepts)
            ]
        )
    concept = spec.prompts["concept"] if spec.prompts else None
    return attack_one(method, ckpt, spec, os.path.join(folder, "attack"), spec.forget_label, concept)


def attack_one(
    method: Method, ckpt: str, spec: CompareSpec, out: str, forget_label: int, concept: Optional[str]
) -> Dict[str, float]:
    """The spec's attacks on one forgotten class (or the prompt concept naming it), written to ``out``."""
    from sfd_lightning.attack.main import attack as run_attack

    a = spec.attack
    if not os.path.isfile(os.path.join(out, "attack.json")):
        target = (
            {
                "concept": concept,
                "prompts": spec.prompts["file"],
                "class_words": spec.prompts["class_words"],
            }
            if spec.prompts
            else {"forget_label": forget_label}
        )
        attacks, options = compared_attacks(spec)
        run_attack(
            ckpt,
            attack=attacks,
            **options,
            **target,
            n=a["n"],
            teacher_steps=a["teacher_steps"],
            examples=a["examples"],
            pinpoint_k=0,
            teacher=a["teacher"],
            skip_teacher=True,
            out=out,
        )
    with open(os.path.join(out, "attack.json")) as f:
        result = json.load(f)
    mine = "sfd" if method.steps == 1 else "model"
    return attack_columns([r for r in result["rows"] if r["target"] == mine])


def benchmark(method: Method, ckpt: str, spec: CompareSpec, folder: str) -> Dict[str, float]:
    """The spec's ``sfd benchmark`` suites on the method alone (its sampler: one step, or ``steps``-step DDIM): the
    headline numbers, one column each."""
    from sfd_lightning.benchmark.main import benchmark as run_benchmark
    from sfd_lightning.benchmark.main import spec_arguments
    from sfd_lightning.benchmark.report import headline

    out = os.path.join(folder, "benchmark")
    if not os.path.isfile(os.path.join(out, "benchmark.json")):
        run_benchmark(ckpt, models="model", steps=method.steps, out=out, **spec_arguments(spec.benchmark))
    with open(os.path.join(out, "benchmark.json")) as f:
        data = json.load(f)
    results = {suite: body["results"] for suite, body in data["suites"].items()}
    return headline(results, next(iter(data["models"])))
