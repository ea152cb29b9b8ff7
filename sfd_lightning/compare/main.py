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
headline number) when the spec has ``benchmark:`` options. Each method's row is recorded in its folder; then
``compare.md``, ``compare.csv``, ``compare.png`` and ``compare.json`` are written into the spec's ``out`` from every
method's recorded row (those of an earlier run into the same ``out`` too), a method that failed, was interrupted
or never started marked so; a rerun reuses what is already there. SIGTERM or Ctrl+C stops the methods' processes
too, writes the table of what finished, and exits 143/130.
"""

import argparse
import sys
from typing import Any, Dict, List, Optional, Sequence, Union

from sfd_lightning.compare.parallel import run_children
from sfd_lightning.compare.record import check_record, write_record
from sfd_lightning.compare.runner import attack, benchmark, evaluate, sampler_speed, speed_conditions, train
from sfd_lightning.compare.spec import CompareSpec, Method, check_pair, read_spec
from sfd_lightning.compare.table import save_row, write_table
from sfd_lightning.compare.tuning import tuning_note
from sfd_lightning.errors import ConfigError
from sfd_lightning.runtime.children import Interrupted, children


def method_row(method: Method, spec: CompareSpec, log=print) -> Dict[str, Any]:
    folder = spec.folder_of(method)
    write_record(method, spec, folder)
    trained = train(method, spec, folder, log)
    log(f"{method.name}: evaluating {trained['ckpt']}")
    note = "; ".join(n for n in (method.note, tuning_note(method.tuned) if method.tuned else "") if n)
    row = {
        "method": method.name,
        "data": method.data,
        "note": note,
        "nfe": method.steps,
        "train_seconds": trained["train_seconds"],
    }
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
            check_record(method, spec, spec.folder_of(method), f"methods[{i}]")


def run(spec: CompareSpec, methods: List[Method], status: Dict[str, str], log=print) -> None:
    """Compute the methods in turn in this process, each row recorded in its folder; ``status`` gets ``ok`` for each
    one finished (``running`` while it runs)."""
    for method in methods:
        status[method.name] = "running"
        save_row(method_row(method, spec, log), spec.folder_of(method))
        status[method.name] = "ok"


def compute(
    spec_path: str,
    spec: CompareSpec,
    methods: List[Method],
    parallel: int,
    pair: List[str],
    status: Dict[str, str],
    log=print,
) -> None:
    """Every method's row, in this process or in ``parallel`` child processes; with children, the finished methods'
    rows are then made again here from their folders (nothing is trained or scored again) with the sampler's speed
    measured alone."""
    if parallel > 1:
        run_children(spec_path, spec, methods, parallel, pair, status, log)
        methods = [m for m in methods if status.get(m.name) == "ok"]
    run(spec, methods, status, log)


def finish(
    spec: CompareSpec,
    methods: List[Method],
    status: Dict[str, str],
    stopped_by: Optional[str] = None,
    failure: Optional[str] = None,
    log=print,
) -> Dict[str, str]:
    """Mark the method that was running (interrupted by the signal ``stopped_by``, or failed with ``failure``) and
    those never started, then write the table; returns the files written."""
    for method in methods:
        state = status.get(method.name)
        if state is None:
            status[method.name] = "not started"
        elif state == "running":
            status[method.name] = f"interrupted ({stopped_by})" if stopped_by else f"failed ({failure})"
    paths = write_table(spec, status, stopped_by, log)
    print(open(paths["md"]).read())
    print("wrote " + ", ".join(paths.values()))
    return paths


def with_pair(spec: CompareSpec, forget: Optional[int], override: Optional[int]) -> List[str]:
    """Set ``--forget-label``/``--override-label`` on a class spec (checked as the spec's own); returns them as
    options."""
    if forget is None and override is None:
        return []
    if spec.prompts:
        raise ConfigError(
            "--forget-label", "a prompt comparison's pair is its concept and replacement (the spec's prompts)"
        )
    spec.forget_label = spec.forget_label if forget is None else forget
    spec.override_label = spec.override_label if override is None else override
    check_pair(spec, "--forget-label", "--override-label" if isinstance(spec.forget_label, list) else None)
    given = [("--forget-label", forget, spec.forget_label), ("--override-label", override, spec.override_label)]
    if all(not isinstance(value, list) for _, _, value in given):
        return ["--forget-label", str(spec.forget_label), "--override-label", str(spec.override_label)]
    return [
        part for option, value, _ in given if value is not None for part in (option, str(value))
    ]  # a list: the spec's


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sfd compare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("spec", help="comparison spec (YAML), e.g. experiments/compare/digits.yaml")
    p.add_argument("--only", default=None, help="comma-separated method names to run (default: all)")
    p.add_argument("--out", default=None, help="output folder (default: the spec's out)")
    p.add_argument(
        "--parallel",
        type=int,
        default=1,
        help="methods computed at a time, each in its own process with "
        "its share of the CPU threads (and GPUs); training times are then measured beside each other",
    )
    p.add_argument("--forget-label", type=int, default=None, help="class runs: forget this class instead of the spec's")
    p.add_argument("--override-label", type=int, default=None, help="class runs: show this class instead of the spec's")
    p.add_argument(
        "--record-only",
        action="store_true",
        help="record each method's row in its folder and write no "
        "table (what --parallel's child processes run; the parent writes the table)",
    )
    return p


def main(argv: Optional[List[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    compare(
        args.spec,
        only=args.only,
        out=args.out,
        parallel=args.parallel,
        forget_label=args.forget_label,
        override_label=args.override_label,
        record_only=args.record_only,
    )


def compare(
    spec_path: str,
    *,
    only: Union[str, Sequence[str], None] = None,
    out: Optional[str] = None,
    parallel: int = 1,
    forget_label: Optional[int] = None,
    override_label: Optional[int] = None,
    record_only: bool = False,
) -> Dict[str, str]:
    """``sfd compare SPEC``: the arguments are its options (``only``: method names, a list or comma-separated).
    Returns the files written (``md``, ``csv``, ``png``, ...; none with ``record_only``). Every check runs before
    anything is trained; a method that failed raises its error (or exits with the failed methods named) after the
    table of the others is written, and a signal exits with its status."""
    if parallel < 1:
        raise ConfigError("--parallel", f"must be >= 1, got {parallel}")
    spec = read_spec(spec_path)
    if out:
        spec.out = out
    pair = with_pair(spec, forget_label, override_label)
    names = ([n.strip() for n in only.split(",")] if isinstance(only, str) else list(only)) if only else None
    unknown = [n for n in names or [] if n not in [m.name for m in spec.methods]]
    if unknown:
        raise ConfigError("--only", f"no method named {unknown[0]!r} in {spec_path}")
    log = lambda m: print(m, flush=True)  # noqa: E731
    chosen = [m for m in spec.methods if not names or m.name in names]
    check_records(spec, names)  # before anything starts
    status: Dict[str, str] = {}
    stop: Optional[Interrupted] = None
    failure: Optional[ConfigError] = None
    try:
        with children.stopped_on_signal(log=log):
            compute(spec_path, spec, chosen, parallel, pair, status, log)
    except Interrupted as err:
        stop = err
    except ConfigError as err:  # a method's fit or scoring failed: the table says so, then the error's line
        failure = err
    paths: Dict[str, str] = {}
    if not record_only:
        paths = finish(spec, chosen, status, stop.name if stop else None, str(failure) if failure else None, log)
    if stop is not None:
        print(
            f"sfd compare: {stop}; finished: {', '.join(n for n, s in status.items() if s == 'ok') or 'none'}",
            file=sys.stderr,
        )
        sys.exit(stop.status)
    if failure is not None:
        raise failure
    failed = [n for n, s in status.items() if s != "ok"]
    if failed:
        sys.exit(f"sfd compare: {', '.join(failed)} failed; see their logs in {spec.out}/compare_logs")
    return paths
