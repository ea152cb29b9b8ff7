"""Forgetting several things on the digits defaults, at once and one request after another (issue 41, item 4).

    python -m experiments.many_concepts.run [--seeds 0 1] [--iterations N] [--joint-scale 2] [--out runs/many_concepts]
        [--only joint,sequential,text] [--judge assets/digits_judge.pt]

- joint: configs/digits_forget_2stage.yaml forgetting 0, 3 and 5 (overrides 1, 8 and 6) in one run;
- sequential: the same three one request at a time, each step continuing the previous step's export
  (``model.previous``), every class forgotten so far judged after every step;
- text: configs/digits_text_forget_2stage.yaml forgetting "seven" (-> "one") and "three" (-> "eight") in one run
  (text-joint) and one after the other (text-sequential).

Each run is ``sfd fit`` (logger off, its own folder under --out), then ``sfd export``; the figures are the run's
report.json (the config's classifier: forget rate per class or concept, retained accuracy, FID ratio), the fit's
wall time, and for class runs the forget rates the independent judge gives samples of the export (``sfd sample``,
then the judge's logits). Prints the table (table.py) and writes results.json and many_concepts.md under --out.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from experiments.many_concepts.table import GOAL, results_table
from sfd_lightning.runtime.children import Interrupted, children

CLASS_CONFIG = "configs/digits_forget_2stage.yaml"
TEXT_CONFIG = "configs/digits_text_forget_2stage.yaml"
CLASS_REQUESTS: Tuple[Tuple[int, int], ...] = ((0, 1), (3, 8), (5, 6))
TEXT_REQUESTS: Tuple[Tuple[str, str], ...] = (("seven", "one"), ("three", "eight"))
EXPERIMENTS = ("joint", "sequential", "text")
JUDGE_SAMPLES = 200  # per label, as the config's ForgetAccuracyCallback
NUM_CLASSES = 10


@dataclass(frozen=True)
class Chain:
    """Runs one after another, each continuing the previous one's export: one step per request (sequential) or one
    step holding every request (joint)."""

    experiment: str
    config: str
    steps: Tuple[Tuple[Tuple[Any, Any], ...], ...]  # per step: its (forgotten, shown instead) pairs

    @property
    def text(self) -> bool:
        return self.config == TEXT_CONFIG


def chains(only: Sequence[str]) -> List[Chain]:
    """The chains of the experiments named in ``only``."""
    out = []
    if "joint" in only:
        out.append(Chain("joint", CLASS_CONFIG, (CLASS_REQUESTS,)))
    if "sequential" in only:
        out.append(Chain("sequential", CLASS_CONFIG, tuple((r,) for r in CLASS_REQUESTS)))
    if "text" in only:
        out.append(Chain("text-joint", TEXT_CONFIG, (TEXT_REQUESTS,)))
        out.append(Chain("text-sequential", TEXT_CONFIG, tuple((r,) for r in TEXT_REQUESTS)))
    return out


def yaml_list(values: Sequence[Any]) -> str:
    return "[" + ",".join("null" if v is None else str(v) for v in values) + "]"


def request_args(chain: Chain, request: Sequence[Tuple[Any, Any]], previous: Optional[str]) -> List[str]:
    """The fit arguments of one step: what it forgets and, after the first step, the release it continues."""
    args = ["--model.init_args.init_ckpt=null", f"--model.init_args.previous={previous}"] if previous else []
    if chain.text and len(request) == 1:
        return args + [f"--data.init_args.concept={request[0][0]}", f"--data.init_args.replacement={request[0][1]}"]
    if chain.text:
        pairs = ",".join(f"[{c},{r}]" for c, r in request)
        return args + [
            "--data.init_args.concept=null",
            "--data.init_args.replacement=null",
            f"--data.init_args.concepts=[{pairs}]",
        ]
    labels, overrides = [c for c, _ in request], [o for _, o in request]
    if len(request) == 1:
        return args + [
            f"--model.init_args.forget_label={labels[0]}",
            f"--model.init_args.override_label={overrides[0]}",
        ]
    return args + [
        f"--model.init_args.forget_label={yaml_list(labels)}",
        f"--model.init_args.override_label={yaml_list(overrides)}",
    ]


def sfd(args: Sequence[str], log: str) -> float:
    """``sfd ARGS`` (this Python's package), its output to ``log``; the wall time. A failure stops the experiment."""
    start = time.perf_counter()
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"$ sfd {' '.join(args)}\n")
        f.flush()
        code = children.run([sys.executable, "-m", "sfd_lightning", *args], stdout=f, stderr=subprocess.STDOUT)
    if code != 0:
        with open(log, encoding="utf-8") as f:
            tail = f.read()[-3000:]
        raise SystemExit(f"many_concepts: `sfd {' '.join(args[:3])} ...` failed ({code}); {log} ends:\n{tail}")
    return time.perf_counter() - start


def key(name: Any) -> str:
    """A class's or concept's metric key suffix (``forget/accuracy_<key>``: spaces as ``_``)."""
    return str(name).replace(" ", "_")


def forget_rates(metrics: Dict[str, float], forgotten: Sequence[Any]) -> Dict[str, Optional[float]]:
    """Each forgotten class's or concept's forget rate from a report or eval JSON: ``forget/accuracy_<key>`` when
    several are forgotten, ``forget/accuracy`` when one is."""
    if len(forgotten) == 1:
        return {str(forgotten[0]): metrics.get("forget/accuracy")}
    return {str(name): metrics.get(f"forget/accuracy_{key(name)}") for name in forgotten}


def judge(export: str, folder: str, forgotten: Sequence[Tuple[int, int]], judge_ckpt: str, log: str) -> Dict:
    """The independent judge's forget rate of each forgotten class, on samples of the export (``sfd sample``)."""
    import numpy as np
    import torch

    from sfd_lightning.judges.classifier import ClassifierJudge
    from sfd_lightning.metrics.forget import ForgetMetrics

    samples = os.path.join(folder, "judge_samples.npz")
    sfd(["sample", "--ckpt", export, "--labels", "0-9", "--n-per-label", str(JUDGE_SAMPLES), "--seed", "1234",
         "--out", samples, "--overwrite"], log)  # fmt: skip
    data = np.load(samples)
    images, labels = torch.from_numpy(data["images"]), torch.from_numpy(data["labels"])
    classifier = ClassifierJudge.load(judge_ckpt, "--judge")
    metric = ForgetMetrics(NUM_CLASSES, [c for c, _ in forgotten], [o for _, o in forgotten])
    with torch.no_grad():
        for chunk, chunk_labels in zip(images.split(500), labels.split(500)):
            metric.update(classifier.logits(chunk), chunk_labels)
    results = metric.compute()
    with open(os.path.join(folder, "judge.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2, sort_keys=True)
    return forget_rates(results, [c for c, _ in forgotten])


def run_chain(chain: Chain, seed: int, options: argparse.Namespace) -> List[Dict[str, Any]]:
    """Every step of a chain for one seed: fit, export, read the figures."""
    results, previous, forgotten = [], None, []
    for number, request in enumerate(chain.steps, start=1):
        forgotten += list(request)
        folder = os.path.join(options.out, f"{chain.experiment}_s{seed}", f"step{number}")
        shutil.rmtree(folder, ignore_errors=True)  # a rerun never resumes a stale last.ckpt
        os.makedirs(folder)
        log = os.path.join(folder, "commands.log")
        fit = ["fit", "--config", chain.config, "--trainer.logger=false", f"--trainer.default_root_dir={folder}",
               f"--seed_everything={seed}", f"--data.init_args.seed={seed}"]  # fmt: skip
        iterations = options.iterations or config_iterations(chain.config)
        if len(request) > 1:  # a step forgetting several at once shares its forget rows among them
            iterations *= options.joint_scale
        fit.append(f"--data.init_args.iterations={iterations}")
        seconds = sfd(fit + request_args(chain, request, previous), log)
        export = os.path.join(folder, "export")
        sfd(["export", "--ckpt", os.path.join(folder, "checkpoints", "last.ckpt"), "--out", export], log)
        with open(os.path.join(folder, "report.json"), encoding="utf-8") as f:
            report = json.load(f)
        class_judge = options.judge and not chain.text
        results.append({
            "experiment": chain.experiment,
            "seed": seed,
            "step": number,
            "request": ", ".join(f"{a}->{b}" for a, b in request),
            "forget": forget_rates(report, [name for name, _ in forgotten]),
            "judge_forget": judge(export, folder, forgotten, options.judge, log) if class_judge else None,
            "retained": report.get("retained/accuracy"),
            "fid_ratio": report.get("fid/ratio"),
            "seconds": seconds,
            "folder": folder,
        })  # fmt: skip
        print(f"many_concepts: {chain.experiment} seed {seed} step {number} done in {seconds:.0f} s", flush=True)
        previous = export
    return results


def config_iterations(config: str) -> int:
    """The SFD iterations a config's data module runs (``data.init_args.iterations``)."""
    import yaml

    with open(config, encoding="utf-8") as f:
        return int(yaml.safe_load(f)["data"]["init_args"]["iterations"])


def parse(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="seeds (seed_everything and data seed)")
    parser.add_argument("--iterations", type=int, default=None, help="SFD iterations per run (default: the config's)")
    parser.add_argument(
        "--joint-scale",
        type=int,
        default=2,
        help="a step forgetting several things at once runs this many times the iterations (its forget rows are "
        "shared among them); 1: the same budget as a one-thing step",
    )
    parser.add_argument("--out", default="runs/many_concepts", help="folder of the runs, results.json and the table")
    parser.add_argument("--only", default=",".join(EXPERIMENTS), help=f"comma-separated subset of {EXPERIMENTS}")
    parser.add_argument("--judge", default="assets/digits_judge.pt", help="independent judge asset; '' to skip it")
    options = parser.parse_args(argv)
    options.only = [name.strip() for name in options.only.split(",") if name.strip()]
    unknown = sorted(set(options.only) - set(EXPERIMENTS))
    if unknown or not options.only:
        parser.error(f"--only: give a comma-separated subset of {','.join(EXPERIMENTS)}, got {unknown or 'none'}")
    if options.iterations is not None and options.iterations < 1:
        parser.error(f"--iterations: must be >= 1, got {options.iterations}")
    return options


def main(argv: Optional[Sequence[str]] = None) -> None:
    options = parse(argv)
    os.makedirs(options.out, exist_ok=True)
    results: List[Dict[str, Any]] = []
    try:
        with children.stopped_on_signal():  # SIGTERM / Ctrl+C stop the running sfd and wait for it
            for chain in chains(options.only):
                for seed in options.seeds:
                    results += run_chain(chain, seed, options)
                    with open(os.path.join(options.out, "results.json"), "w", encoding="utf-8") as f:
                        json.dump({"goal": GOAL, "options": vars(options), "runs": results}, f, indent=2)
    except Interrupted as stop:
        raise SystemExit(stop.status) from None
    table = results_table(results)
    with open(os.path.join(options.out, "many_concepts.md"), "w", encoding="utf-8") as f:
        f.write(f"# Many concepts on the digits defaults\n\n{table}\n")
    print(f"\n{table}\n\nresults: {os.path.join(options.out, 'results.json')}")


if __name__ == "__main__":
    main()
