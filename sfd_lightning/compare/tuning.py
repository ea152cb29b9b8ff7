"""A method's tuning record: the grid a baseline was tuned over (a sweep spec, ``make tune-baselines``), the
constraint its best setting had to meet, and the setting its config keeps, checked to be one of the grid's, and
written as the table's footnote."""
import math
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import yaml

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.yaml_file import read_yaml_mapping
from sfd_lightning.sweep.constraint import parse_constraint
from sfd_lightning.sweep.search import grid_values
from sfd_lightning.sweep.spec import load_spec


@dataclass
class Tuning:
    sweep: str                  # the grid's sweep spec
    constraint: str             # the constraint of ``sfd sweep --constraint``
    grid: Dict[str, List[Any]]  # swept option -> its values
    metric: str                 # the spec's metric and goal
    goal: str
    chosen: Dict[str, Any]      # the config's (and args') value of each swept option


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def config_value(config: Dict[str, Any], args: List[str], key: str, where: str) -> Any:
    """The value ``sfd fit --config CONFIG ARGS`` gives the dotted option ``key`` (an ``--key=value`` in args wins)."""
    for arg in reversed(args):
        if arg.startswith(f"--{key}="):
            return yaml.safe_load(arg.split("=", 1)[1])
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(where, f"the config sets no {key!r}, which the tuning grid sweeps")
        node = node[part]
    return node


def read_tuning(raw: Any, config: Optional[str], args: List[str], where: str) -> Tuning:
    """A method's ``tuned: {sweep, constraint}``: the grid read from the sweep spec, the config's setting found in it."""
    if not isinstance(raw, dict) or set(raw) != {"sweep", "constraint"}:
        raise ConfigError(where, f"must be a mapping with sweep (a grid sweep spec) and constraint (METRIC<=VALUE), got {raw!r}")
    if config is None:
        raise ConfigError(where, "a tuned method is trained from a config (config:), not a checkpoint")
    if not os.path.isfile(str(raw["sweep"])):
        raise ConfigError(f"{where}.sweep", f"no such sweep spec: {raw['sweep']!r}")
    spec = load_spec(raw["sweep"])
    parse_constraint(str(raw["constraint"]), f"{where}.constraint")
    if spec.method != "grid" or not spec.metric:
        raise ConfigError(f"{where}.sweep", f"{raw['sweep']!r} must be a grid search with a metric, got {spec.method!r}")
    grid = {k: grid_values(k, p) for k, p in spec.parameters.items()}
    settings = read_yaml_mapping(config, f"{where}.config", "an sfd fit config")
    chosen = {k: config_value(settings, args, k, where) for k in grid}
    for key, value in chosen.items():
        if value not in grid[key]:
            raise ConfigError(where, f"the config's {key} = {value!r} is not a setting of the grid {grid[key]}; put the "
                                     f"best setting of `sfd sweep {raw['sweep']} --constraint ...` in the config")
    return Tuning(raw["sweep"], str(raw["constraint"]), grid, spec.metric["name"], spec.metric["goal"], chosen)


def tuning_note(t: Tuning) -> str:
    """The footnote: the grid, how the setting was chosen, and the setting."""
    grid = " x ".join(f"{_short(k)} {{{', '.join(_text(v) for v in vs)}}}" for k, vs in t.grid.items())
    runs = math.prod(len(vs) for vs in t.grid.values())
    chosen = ", ".join(f"{_short(k)} {_text(v)}" for k, v in t.chosen.items())
    best = "lowest" if t.goal == "minimize" else "highest"
    return (f"tuned over {grid} ({runs} runs, `sfd sweep {t.sweep} --constraint \"{t.constraint}\"`): the {best} "
            f"{t.metric} among the settings with {t.constraint}; this row: {chosen}")
