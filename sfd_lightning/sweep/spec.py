"""W&B sweep specs (https://docs.wandb.ai/guides/sweeps/sweep-config-keys): loading and checking them
against the keys W&B documents, every parameter kind included.

A parameter is a constant (``value``), a choice (``values``, optionally with ``probabilities``), a
distribution (``distribution`` with its own keys; without one, ``min``/``max`` mean ``int_uniform``
for integers and ``uniform`` otherwise) or a group of ``parameters`` nested under one name. Nested
groups become dotted names (``model: {parameters: {init_args: {parameters: {alpha: ...}}}}`` is
``model.init_args.alpha``), which is how ``sfd fit`` spells options.
"""

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.folder_name import check_folder_name
from sfd_lightning.io.yaml_file import read_yaml_mapping

METHODS = ("grid", "random", "bayes")
GOALS = ("minimize", "maximize")
TOP_LEVEL = (
    "name",
    "description",
    "project",
    "entity",
    "program",
    "method",
    "metric",
    "parameters",
    "command",
    "run_cap",
    "early_terminate",
)
# Each distribution and the keys it reads (besides ``distribution``); ``q`` is the quantisation step.
DISTRIBUTIONS: Dict[str, tuple] = {
    "constant": ("value",),
    "categorical": ("values", "probabilities"),
    "int_uniform": ("min", "max"),
    "uniform": ("min", "max"),
    "q_uniform": ("min", "max", "q"),
    "log_uniform": ("min", "max"),
    "log_uniform_values": ("min", "max"),
    "q_log_uniform": ("min", "max", "q"),
    "q_log_uniform_values": ("min", "max", "q"),
    "inv_log_uniform": ("min", "max"),
    "inv_log_uniform_values": ("min", "max"),
    "normal": ("mu", "sigma"),
    "q_normal": ("mu", "sigma", "q"),
    "log_normal": ("mu", "sigma"),
    "q_log_normal": ("mu", "sigma", "q"),
    "beta": ("a", "b"),
    "q_beta": ("a", "b", "q"),
}
MAX_RUNS = (
    10_000  # one sweep's runs at the most (run_cap, a grid's settings): a local sweep of more would run for weeks
)
BOUNDED = {d for d, keys in DISTRIBUTIONS.items() if "min" in keys}
POSITIVE_BOUNDS = ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values")


@dataclass
class SweepSpec:
    path: str
    name: str
    method: str
    command: List[str]
    parameters: Dict[str, Dict[str, Any]]  # dotted name -> its leaf spec, with ``distribution`` filled in
    metric: Dict[str, Any] = field(default_factory=dict)
    project: str = "sfd-lightning"
    entity: Optional[str] = None
    run_cap: Optional[int] = None
    raw: Dict[str, Any] = field(default_factory=dict)


def _field(key: str) -> str:
    return f"sweep.parameters.{key}"


def distribution_of(key: str, p: Dict[str, Any]) -> str:
    """The spec's ``distribution``, or the one W&B infers: constant, categorical, int_uniform or uniform."""
    if "distribution" in p:
        kind = p["distribution"]
        if kind not in DISTRIBUTIONS:
            raise ConfigError(_field(key) + ".distribution", f"must be one of {', '.join(DISTRIBUTIONS)}, got {kind!r}")
        return kind
    if "value" in p:
        return "constant"
    if "values" in p:
        return "categorical"
    if "min" in p and "max" in p:
        ints = all(isinstance(p[k], int) and not isinstance(p[k], bool) for k in ("min", "max"))
        return "int_uniform" if ints else "uniform"
    raise ConfigError(_field(key), "give `value`, `values`, `min` and `max`, a `distribution`, or nested `parameters`")


def _number(key: str, p: Dict[str, Any], name: str) -> None:
    if name in p and (isinstance(p[name], bool) or not isinstance(p[name], (int, float))):
        raise ConfigError(f"{_field(key)}.{name}", f"must be a number, got {p[name]!r}")


def check_leaf(key: str, p: Dict[str, Any]) -> Dict[str, Any]:
    """One parameter's spec, checked; returned with its ``distribution`` filled in."""
    kind = distribution_of(key, p)
    unknown = sorted(set(p) - set(DISTRIBUTIONS[kind]) - {"distribution"})
    if unknown:
        raise ConfigError(_field(key), f"{kind} takes {', '.join(DISTRIBUTIONS[kind])}; unknown: {', '.join(unknown)}")
    for name in ("min", "max", "q", "mu", "sigma", "a", "b"):
        _number(key, p, name)
    if kind == "constant" and "value" not in p:
        raise ConfigError(_field(key) + ".value", "a constant needs its value")
    if kind == "categorical":
        values = p.get("values")
        if not isinstance(values, list) or not values:
            raise ConfigError(_field(key) + ".values", "must be a non-empty list")
        probs = p.get("probabilities")
        if probs is not None and (
            not isinstance(probs, list)
            or len(probs) != len(values)
            or any(not isinstance(x, (int, float)) or x < 0 for x in probs)
            or abs(sum(probs) - 1) > 1e-6
        ):
            raise ConfigError(
                _field(key) + ".probabilities", f"must be {len(values)} non-negative numbers adding up to 1"
            )
    if kind in BOUNDED:
        if "min" not in p or "max" not in p:
            raise ConfigError(_field(key), f"{kind} needs `min` and `max`")
        if not p["min"] < p["max"]:
            raise ConfigError(_field(key), f"needs min < max, got {p['min']} and {p['max']}")
        if kind in POSITIVE_BOUNDS and p["min"] <= 0:
            raise ConfigError(_field(key) + ".min", f"must be > 0 for {kind}")
        if kind == "int_uniform" and not all(isinstance(p[k], int) for k in ("min", "max")):
            raise ConfigError(_field(key), "int_uniform needs integer min and max")
    for name in ("q", "sigma", "a", "b"):
        if name in p and p[name] <= 0:
            raise ConfigError(f"{_field(key)}.{name}", f"must be > 0, got {p[name]}")
    return dict(p, distribution=kind)


def flatten(parameters: Dict[str, Any], prefix: str = "") -> Dict[str, Dict[str, Any]]:
    """Nested ``parameters`` groups to dotted names, every leaf checked."""
    if not isinstance(parameters, dict) or not parameters:
        raise ConfigError(
            f"sweep.parameters{('.' + prefix.rstrip('.')) if prefix else ''}",
            "must map at least one option (e.g. model.init_args.alpha) to its values",
        )
    leaves: Dict[str, Dict[str, Any]] = {}
    for name, p in parameters.items():
        key = f"{prefix}{name}"
        if not isinstance(p, dict):
            raise ConfigError(_field(key), "must be a mapping such as {values: [...]} or {min: .., max: ..}")
        if "parameters" in p:
            extra = sorted(set(p) - {"parameters"})
            if extra:
                raise ConfigError(
                    _field(key), f"a group of nested `parameters` takes nothing else; got {', '.join(extra)}"
                )
            leaves.update(flatten(p["parameters"], key + "."))
        else:
            leaves[key] = check_leaf(key, p)
    return leaves


def _check_runs_sfd(command: List[str], program: str) -> None:
    """A spec is data: the local runner starts ``sfd`` (or ``${interpreter} -m sfd_lightning``) and nothing else."""
    head = [program if c == "${program}" else c for c in command if c != "${env}"]
    if head[:1] != ["sfd"] and head[:3] != ["${interpreter}", "-m", "sfd_lightning"]:
        raise ConfigError(
            "sweep.command",
            f"must start sfd (or ${{interpreter}} -m sfd_lightning); got {' '.join(head[:3])!r}: "
            "the local runner runs no other program from a spec",
        )


def _check_metric(metric: Any, method: str) -> Dict[str, Any]:
    if metric is None:
        if method == "bayes":
            raise ConfigError(
                "sweep.metric", "bayes search needs a metric to optimise, e.g. {name: final/fid/ratio, goal: minimize}"
            )
        return {}
    if not isinstance(metric, dict) or not isinstance(metric.get("name"), str):
        raise ConfigError(
            "sweep.metric", "must be a mapping with a name (and a goal), e.g. {name: final/fid/ratio, goal: minimize}"
        )
    goal = metric.get("goal", "minimize")
    if goal not in GOALS:
        raise ConfigError("sweep.metric.goal", f"must be minimize or maximize, got {goal!r}")
    return dict(metric, goal=goal)


def load_spec(path: str) -> SweepSpec:
    """Read and check a sweep YAML; every problem is a ConfigError naming the key."""
    if not os.path.isfile(path):
        raise ConfigError("SWEEP", f"no such sweep spec: {path}")
    raw = read_yaml_mapping(path, "SWEEP", "a mapping (a W&B sweep spec)")
    unknown = sorted(set(raw) - set(TOP_LEVEL))
    if unknown:
        raise ConfigError(f"sweep.{unknown[0]}", f"not a W&B sweep key (known: {', '.join(TOP_LEVEL)})")
    method = raw.get("method")
    if method not in METHODS:
        raise ConfigError("sweep.method", f"must be one of {', '.join(METHODS)}, got {method!r}")
    params = flatten(raw.get("parameters"))
    metric = _check_metric(raw.get("metric"), method)
    command = raw.get("command")
    if not isinstance(command, list) or not any(c in ("${args}", "${args_no_hyphens}") for c in command):
        raise ConfigError("sweep.command", "must be a list holding ${args}, e.g. [sfd, fit, --config, C.yaml, ${args}]")
    _check_runs_sfd([str(c) for c in command], str(raw.get("program", "sfd")))
    run_cap = raw.get("run_cap")
    if run_cap is not None and (
        isinstance(run_cap, bool) or not isinstance(run_cap, int) or not 1 <= run_cap <= MAX_RUNS
    ):
        raise ConfigError("sweep.run_cap", f"must be an integer from 1 to {MAX_RUNS:,}, got {run_cap!r}")
    name = check_folder_name(
        raw.get("name") or os.path.splitext(os.path.basename(path))[0], "sweep.name"
    )  # <out>/<name>/
    return SweepSpec(
        path=path,
        name=name,
        method=method,
        command=[str(c) for c in command],
        parameters=params,
        metric=metric,
        project=raw.get("project", "sfd-lightning"),
        entity=raw.get("entity"),
        run_cap=run_cap,
        raw=raw,
    )
