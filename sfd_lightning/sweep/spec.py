"""W&B sweep specs (https://docs.wandb.ai/guides/sweeps/sweep-config-keys): loading, checking, and
expanding them into runs for the local executor.

Locally, ``grid`` is the cartesian product of every parameter's ``values``; ``random`` and
``bayes`` draw ``run_cap`` (default 10) settings at random (there is no local Bayesian optimiser:
with no earlier results to model, its first proposals are random draws too).
"""
import itertools
import math
import os
import random
from dataclasses import dataclass, field
from typing import Any, Dict, List

import yaml

from sfd_lightning.errors import ConfigError

METHODS = ("grid", "random", "bayes")
DISTRIBUTIONS = ("categorical", "constant", "uniform", "int_uniform", "log_uniform_values", "q_uniform")


@dataclass
class SweepSpec:
    path: str
    name: str
    method: str
    command: List[str]
    parameters: Dict[str, Dict[str, Any]]
    metric: Dict[str, str] = field(default_factory=dict)
    project: str = "sfd-lightning"
    run_cap: int = 10
    raw: Dict[str, Any] = field(default_factory=dict)

    def runs(self, seed: int = 0) -> List[Dict[str, Any]]:
        """The parameter settings to run, in order."""
        if self.method == "grid":
            keys = list(self.parameters)
            choices = [_grid_values(k, self.parameters[k]) for k in keys]
            return [dict(zip(keys, combo)) for combo in itertools.product(*choices)]
        rng = random.Random(seed)
        return [{k: _draw(k, p, rng) for k, p in self.parameters.items()} for _ in range(self.run_cap)]


def _field(key: str) -> str:
    return f"sweep.parameters.{key}"


def _grid_values(key: str, p: Dict[str, Any]) -> List[Any]:
    if "values" in p:
        return list(p["values"])
    if "value" in p:
        return [p["value"]]
    raise ConfigError(_field(key), "grid search needs `values` (or a single `value`) for every parameter")


def _draw(key: str, p: Dict[str, Any], rng: random.Random) -> Any:
    if "value" in p:
        return p["value"]
    if "values" in p:
        return rng.choice(list(p["values"]))
    lo, hi = p["min"], p["max"]
    kind = p.get("distribution") or ("int_uniform" if isinstance(lo, int) and isinstance(hi, int) else "uniform")
    if kind == "int_uniform":
        return rng.randint(lo, hi)
    if kind == "log_uniform_values":
        return math.exp(rng.uniform(math.log(lo), math.log(hi)))
    if kind == "q_uniform":
        q = p.get("q", 1)
        return round(rng.uniform(lo, hi) / q) * q
    return rng.uniform(lo, hi)


def _check_parameter(key: str, p: Any) -> None:
    if not isinstance(p, dict):
        raise ConfigError(_field(key), "must be a mapping such as {values: [...]} or {min: .., max: ..}")
    if "values" in p:
        if not isinstance(p["values"], list) or not p["values"]:
            raise ConfigError(_field(key) + ".values", "must be a non-empty list")
    elif "value" not in p:
        if "min" not in p or "max" not in p:
            raise ConfigError(_field(key), "give `values`, `value`, or `min` and `max`")
        if not p["min"] < p["max"]:
            raise ConfigError(_field(key), f"needs min < max, got {p['min']} and {p['max']}")
        kind = p.get("distribution")
        if kind is not None and kind not in DISTRIBUTIONS:
            raise ConfigError(_field(key) + ".distribution", f"must be one of {', '.join(DISTRIBUTIONS)}, got {kind!r}")
        if kind == "log_uniform_values" and p["min"] <= 0:
            raise ConfigError(_field(key) + ".min", "must be > 0 for log_uniform_values")


def _check_runs_sfd(command: List[str], program: str) -> None:
    """A spec is data: the local runner starts ``sfd`` (or ``${interpreter} -m sfd_lightning``) and nothing else."""
    head = [program if c == "${program}" else c for c in command if c != "${env}"]
    if head[:1] != ["sfd"] and head[:3] != ["${interpreter}", "-m", "sfd_lightning"]:
        raise ConfigError("sweep.command", f"must start sfd (or ${{interpreter}} -m sfd_lightning); got {' '.join(head[:3])!r}: "
                          "the local runner runs no other program from a spec")


def load_spec(path: str) -> SweepSpec:
    """Read and check a sweep YAML; every problem is a ConfigError naming the key."""
    if not os.path.isfile(path):
        raise ConfigError("SWEEP", f"no such sweep spec: {path}")
    try:
        raw = yaml.safe_load(open(path).read())
    except yaml.YAMLError as err:
        raise ConfigError("SWEEP", f"{path} is not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError("SWEEP", f"{path} must hold a mapping (a W&B sweep spec)")
    method = raw.get("method")
    if method not in METHODS:
        raise ConfigError("sweep.method", f"must be one of {', '.join(METHODS)}, got {method!r}")
    params = raw.get("parameters")
    if not isinstance(params, dict) or not params:
        raise ConfigError("sweep.parameters", "must map at least one option (e.g. model.init_args.alpha) to its values")
    for key, p in params.items():
        _check_parameter(key, p)
    command = raw.get("command")
    if not isinstance(command, list) or "${args}" not in command:
        raise ConfigError("sweep.command", "must be a list holding ${args}, e.g. [sfd, fit, --config, C.yaml, ${args}]")
    _check_runs_sfd([str(c) for c in command], str(raw.get("program", "sfd")))
    run_cap = raw.get("run_cap", 10)
    if method != "grid" and (not isinstance(run_cap, int) or run_cap < 1):
        raise ConfigError("sweep.run_cap", f"must be a positive integer for {method} search, got {run_cap!r}")
    name = raw.get("name") or os.path.splitext(os.path.basename(path))[0]
    return SweepSpec(path=path, name=name, method=method, command=[str(c) for c in command], parameters=params,
                     metric=raw.get("metric") or {}, project=raw.get("project", "sfd-lightning"), run_cap=run_cap, raw=raw)
