"""How a local sweep picks its runs: W&B's grid, random and Bayesian search, with optuna's samplers.

``random`` draws with optuna's ``RandomSampler`` and ``bayes`` with its ``TPESampler``, which learns
from the finished runs' ``metric`` (their ``report.json``); runs in flight are treated as pending
(``constant_liar``), so ``--parallel`` runs do not all propose the same point. ``grid`` is the
cartesian product of every parameter's choices in spec order, as W&B runs it.

Every W&B distribution is drawn in the space optuna can model: uniforms and log-uniforms directly,
the normal, log-normal and beta families as the quantile of a uniform draw, choices with
``probabilities`` by their cumulative probabilities, and ``q_`` kinds rounded to multiples of ``q``.
"""

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Dict, Iterator, List, Optional, Tuple

import optuna

from sfd_lightning.errors import ConfigError
from sfd_lightning.sweep.spec import MAX_RUNS, SweepSpec

DEFAULT_RUN_CAP = 10  # random and bayes searches without run_cap (W&B would go on until stopped)
EPS = 1e-9


@dataclass
class Proposal:
    params: Dict[str, Any]
    trial: Optional[optuna.trial.Trial] = None


def quantize(x: float, q: float) -> float:
    """W&B's ``q_`` rounding: the multiple of ``q`` nearest ``x`` (an int when ``q`` is one)."""
    value = round(x / q) * q
    return int(value) if isinstance(q, int) else round(value, 12)


def _pick(u: float, probabilities: List[float]) -> int:
    total = 0.0
    for i, p in enumerate(probabilities):
        total += p
        if u < total:
            return i
    return len(probabilities) - 1


def _quantile(kind: str, u: float, p: Dict[str, Any]) -> float:
    if "beta" in kind:
        from scipy.stats import beta

        return float(beta.ppf(u, p.get("a", 1), p.get("b", 1)))
    x = NormalDist(p.get("mu", 0.0), p.get("sigma", 1.0)).inv_cdf(u)
    return math.exp(x) if "log" in kind else x


def draw(trial: optuna.trial.Trial, key: str, p: Dict[str, Any]) -> Any:
    """One value of parameter ``key`` from its (checked) spec ``p``, through optuna's ``trial``."""
    kind = p["distribution"]
    if kind == "constant":
        return p["value"]
    if kind == "categorical":
        if p.get("probabilities"):
            return p["values"][_pick(trial.suggest_float(key, 0.0, 1.0), p["probabilities"])]
        return p["values"][trial.suggest_categorical(key, list(range(len(p["values"]))))]
    if kind == "int_uniform":
        return trial.suggest_int(key, p["min"], p["max"])
    lo, hi = p.get("min"), p.get("max")
    if kind in ("uniform", "q_uniform"):
        x = trial.suggest_float(key, lo, hi)
    elif kind in ("log_uniform_values", "q_log_uniform_values"):
        x = trial.suggest_float(key, lo, hi, log=True)
    elif kind in ("log_uniform", "q_log_uniform"):  # min and max are exponents of e
        x = math.exp(trial.suggest_float(key, lo, hi))
    elif kind == "inv_log_uniform":  # log(1/x) uniform in [min, max]
        x = math.exp(-trial.suggest_float(key, lo, hi))
    elif kind == "inv_log_uniform_values":  # 1/x log-uniform in [1/max, 1/min]
        x = 1.0 / trial.suggest_float(key, 1.0 / hi, 1.0 / lo, log=True)
    else:
        x = _quantile(kind, trial.suggest_float(key, EPS, 1.0 - EPS), p)
    return quantize(x, p.get("q", 1)) if kind.startswith("q_") else x


def grid_values(key: str, p: Dict[str, Any]) -> List[Any]:
    """A parameter's choices in a grid: its values, its constant, or every step of an int_uniform/q_uniform range
    (at most ``MAX_RUNS`` of them)."""
    kind = p["distribution"]
    if kind == "constant":
        return [p["value"]]
    if kind == "categorical":
        return list(p["values"])
    if kind not in ("int_uniform", "q_uniform"):
        raise ConfigError(
            f"sweep.parameters.{key}", f"grid search takes value, values, int_uniform or q_uniform; not {kind}"
        )
    q = p.get("q", 1)
    steps = int(math.floor((p["max"] - p["min"]) / q + 1e-9)) + 1
    if steps > MAX_RUNS:
        raise ConfigError(
            f"sweep.parameters.{key}",
            f"a grid range of {steps:,} values; at most {MAX_RUNS:,} (a larger q, "
            "a narrower range, or a random search)",
        )
    return [quantize(p["min"] + k * q, q) if kind == "q_uniform" else p["min"] + k for k in range(steps)]


def grid_settings(spec: SweepSpec) -> Tuple[int, Iterator[Dict[str, Any]]]:
    """(how many, the settings in W&B's order): the cartesian product of every parameter's grid values, lazily."""
    keys = list(spec.parameters)
    values = [grid_values(k, spec.parameters[k]) for k in keys]
    total = math.prod(len(v) for v in values)
    if total > MAX_RUNS and spec.run_cap is None:
        raise ConfigError(
            "sweep.parameters",
            f"the grid has {total:,} settings, more than the {MAX_RUNS:,} one sweep runs; "
            "give fewer values, or run_cap to run the first run_cap settings",
        )
    return total, (dict(zip(keys, combo)) for combo in itertools.product(*values))


class Search:
    """Proposes a sweep's runs one at a time (``ask``) and learns from their results (``tell``)."""

    def __init__(self, spec: SweepSpec, seed: int = 0):
        self.spec, self.asked = spec, 0
        self._grid: Optional[Iterator[Dict[str, Any]]] = None
        self.study: Optional[optuna.Study] = None
        if spec.method == "grid":
            total, self._grid = grid_settings(spec)
            self.run_cap = min(spec.run_cap or total, total)
            return
        self.run_cap = spec.run_cap or DEFAULT_RUN_CAP
        self.startup = min(10, max(2, self.run_cap // 3))  # bayes: random proposals before the model takes over
        if spec.method == "random":
            sampler = optuna.samplers.RandomSampler(seed=seed)
        else:
            sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.startup, constant_liar=True)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(direction=spec.metric.get("goal", "minimize"), sampler=sampler)

    def ask(self) -> Optional[Proposal]:
        """The next run's parameters, or None when the sweep has proposed ``run_cap`` runs."""
        if self.asked >= self.run_cap:
            return None
        self.asked += 1
        if self._grid is not None:
            return Proposal(next(self._grid))
        trial = self.study.ask()
        return Proposal({k: draw(trial, k, p) for k, p in self.spec.parameters.items()}, trial)

    def tell(self, proposal: Proposal, value: Optional[float]) -> None:
        """A finished run's metric (None: it failed or did not report it)."""
        if proposal.trial is None:
            return
        if value is None or not math.isfinite(value):
            self.study.tell(proposal.trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(proposal.trial, value)

    def preview(self) -> Iterator[Dict[str, Any]]:
        """The runs a dry run shows, one at a time: all of a grid or random search; a Bayesian search's first random
        ones (at most ``MAX_RUNS``: ``run_cap``'s bound)."""
        n = self.run_cap if self.spec.method != "bayes" else self.startup
        return (self.ask().params for _ in range(n))
