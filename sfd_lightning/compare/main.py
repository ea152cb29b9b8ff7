"""``sfd compare SPEC``: train SFD and the baselines of a comparison spec and write the table.

    sfd compare experiments/compare/digits.yaml            # make compare
    sfd compare experiments/compare/digits.yaml --only SFD,ESD
    sfd compare experiments/compare/digits.yaml --parallel 2   # two methods at a time, a process each
    sfd compare experiments/compare/digits.yaml --forget-label 3 --override-label 8 --out runs/compare_digits_3_8
    sfd compare experiments/compare/digits_text.yaml       # make compare-text: prompt-conditioned models

Each method is trained by ``sfd fit`` (in a child process; its wall time is the table's), then scored alike:
``sfd sample`` with the spec's noise seeds and samples per class, ``sfd eval`` (forget, override and retained
accuracy; FID of the retained classes; ``evaluation: false`` leaves it out), its sampler's images/s here, ``sfd
attack`` when the spec has attacks, and ``sfd benchmark`` (its nudity, identity and COCO suites, one column per
headline number) when the spec has ``benchmark:`` options. Writes ``compare.md``, ``compare.csv``, ``compare.png`` and ``compare.json`` into the spec's ``out``;
a rerun reuses what is already there.
"""
import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional

from sfd_lightning.compare.parallel import run_children
from sfd_lightning.compare.record import check_record, write_record
from sfd_lightning.compare.report import write
from sfd_lightning.compare.runner import attack, benchmark, evaluate, sampler_speed, speed_conditions, train
from sfd_lightning.compare.spec import CompareSpec, Method, check_pair, folder_name, read_spec
from sfd_lightning.compare.tuning import tuning_note
from sfd_lightning.errors import ConfigError


def method_row(method: Method, spec: CompareSpec, log=print) -> Dict[str, Any]:
    folder = os.path.join(spec.out, folder_name(method.name))
    write_record(method, spec, folder)
    trained = train(method, spec, folder, log)
    log(f"{method.name}: evaluating {trained['ckpt']}")
    note = "; ".join(n for n in (method.note, tuning_note(method.tuned) if method.tuned else "") if n)
    row = {"method": method.name, "data": method.data, "note": note, "nfe": method.steps, "train_seconds": trained["train_seconds"]}
    if spec.evaluation is not None:
        row.update(evaluate(method, trained["ckpt"], spec, folder))
        batch = spec.evaluation["speed_batch"]
        row["images_per_s"] = sampler_speed(trained["ckpt"], method.steps, batch, speed_conditions(spec, batch))
    if spec.benchmark is not None:
        row["benchmark"] = benchmark(method, trained["ckpt"], spec, folder)
    if spec.attack:
        row["attacks"] = attack(method, trained["ckpt"], spec, folder)
    return row


def check_records(spec: CompareSpec, only: Optional[List[str]]) -> None:
    """Before anything runs: no folder's results from another definition are reused."""
    for i, method in enumerate(spec.methods):
        if not only or method.name in only:
            check_record(method, spec, os.path.join(spec.out, folder_name(method.name)), f"methods[{i}]")


def run(spec: CompareSpec, only: Optional[List[str]] = None, log=print) -> List[Dict[str, Any]]:
    check_records(spec, only)
    rows = [method_row(m, spec, log) for m in spec.methods if not only or m.name in only]
    reference = next((r for r in rows if r["method"] == spec.reference_method), None)
    for r in rows:
        if reference and "fid" in r and reference.get("fid"):
            r["fid_ratio"] = r["fid"] / reference["fid"]
    return rows


def with_pair(spec: CompareSpec, forget: Optional[int], override: Optional[int]) -> List[str]:
    """Set ``--forget-label``/``--override-label`` on a class spec (checked as the spec's own); returns them as options."""
    if forget is None and override is None:
        return []
    if spec.prompts:
        raise ConfigError("--forget-label", "a prompt comparison's pair is its concept and replacement (the spec's prompts)")
    spec.forget_label = spec.forget_label if forget is None else forget
    spec.override_label = spec.override_label if override is None else override
    check_pair(spec, "--forget-label")
    return ["--forget-label", str(spec.forget_label), "--override-label", str(spec.override_label)]


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(prog="sfd compare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", help="comparison spec (YAML), e.g. experiments/compare/digits.yaml")
    p.add_argument("--only", default=None, help="comma-separated method names to run (default: all)")
    p.add_argument("--out", default=None, help="output folder (default: the spec's out)")
    p.add_argument("--parallel", type=int, default=1, help="methods computed at a time, each in its own process with "
                   "its share of the CPU threads (and GPUs); training times are then measured beside each other")
    p.add_argument("--forget-label", type=int, default=None, help="class runs: forget this class instead of the spec's")
    p.add_argument("--override-label", type=int, default=None, help="class runs: show this class instead of the spec's")
    args = p.parse_args(argv)
    if args.parallel < 1:
        raise ConfigError("--parallel", f"must be >= 1, got {args.parallel}")
    spec = read_spec(args.spec)
    if args.out:
        spec.out = args.out
    pair = with_pair(spec, args.forget_label, args.override_label)
    only = [n.strip() for n in args.only.split(",")] if args.only else None
    unknown = [n for n in only or [] if n not in [m.name for m in spec.methods]]
    if unknown:
        raise ConfigError("--only", f"no method named {unknown[0]!r} in {args.spec}")
    log = lambda m: print(m, flush=True)  # noqa: E731
    if args.parallel > 1:
        chosen = [m for m in spec.methods if not only or m.name in only]
        check_records(spec, only)  # before any child starts
        failed = run_children(args.spec, spec, chosen, args.parallel, pair, log)
        if failed:
            sys.exit(f"sfd compare: {', '.join(failed)} failed; see their logs in {os.path.join(spec.out, 'compare_logs')}")
    rows = run(spec, only, log)
    paths = write(rows, spec.out)
    with open(os.path.join(spec.out, "compare.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print(open(paths["md"]).read())
    print("wrote " + ", ".join(paths.values()))
