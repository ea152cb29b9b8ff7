"""A method's tuning record: the grid a baseline was tuned over (a sweep spec, ``make tune-baselines``), the
constraint its best setting had to meet, and the setting its config keeps, checked to be one of the grid's, and
written as the table's footnote."""

import math
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.yaml_file import read_yaml_mapping
from sfd_lightning.sweep.constraint import parse_constraint
from sfd_lightning.sweep.search import grid_values
from sfd_lightning.sweep.spec import load_spec


@dataclass
class Tuning:
    sweep: str  # the grid's sweep spec
    constraint: str  # the constraint of ``sfd sweep --constraint``
    grid: Dict[str, List[Any]]  # swept option -> its values
    metric: str  # the spec's metric and goal
    goal: str
    chosen: Dict[str, Any]  # the value of each swept option the method trains with (config, overlays, args)


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def fit_settings(config: str, args: List[str], where: str) -> Dict[str, Any]:
    """The dotted options ``sfd fit --config CONFIG ARGS`` trains with, read by ``sfd fit``'s own parser: its
    ``--config`` overlays, ``--key value`` and ``--key=value`` in order, and the defaults; nothing is built."""
    from sfd_lightning.cli import SFDLightningCLI, dotted

    class ParsedOnly(SFDLightningCLI):
        def _set_seed(self) -> None:  # no global seeding, no classes built
            pass

        def before_instantiate_classes(self) -> None:
            pass

        def instantiate_classes(self) -> None:
            pass

    try:
        cli = ParsedOnly(args=["--config", config, *args], run=False)
    except ConfigError as err:
        raise ConfigError(where, f"sfd fit does not read the method's config and args: {err}") from None
    return dotted(cli.config.as_dict())


def read_tuning(raw: Any, config: Optional[str], args: List[str], where: str) -> Tuning:
    """A method's ``tuned: {sweep, constraint}``: the grid read from the sweep spec, the config's setting found in
    it."""
    if not isinstance(raw, dict) or set(raw) != {"sweep", "constraint"}:
        raise ConfigError(
            where, f"must be a mapping with sweep (a grid sweep spec) and constraint (METRIC<=VALUE), got {raw!r}"
        )
    if config is None:
        raise ConfigError(where, "a tuned method is trained from a config (config:), not a checkpoint")
    if not os.path.isfile(str(raw["sweep"])):
        raise ConfigError(f"{where}.sweep", f"no such sweep spec: {raw['sweep']!r}")
    spec = load_spec(raw["sweep"])
    parse_constraint(str(raw["constraint"]), f"{where}.constraint")
    if spec.method != "grid" or not spec.metric:
        raise ConfigError(
            f"{where}.sweep", f"{raw['sweep']!r} must be a grid search with a metric, got {spec.method!r}"
        )
    grid = {k: grid_values(k, p) for k, p in spec.parameters.items()}
    read_yaml_mapping(config, f"{where}.config", "an sfd fit config")
    settings = fit_settings(config, args, where)
    missing = [k for k in grid if k not in settings]
    if missing:
        raise ConfigError(where, f"sfd fit has no option {missing[0]!r}, which the tuning grid sweeps")
    chosen = {k: settings[k] for k in grid}
    for key, value in chosen.items():
        if value not in grid[key]:
            raise ConfigError(
                where,
                f"the method trains with {key} = {value!r} (its config, overlays and args), which is "
                f"not a setting of the grid {grid[key]}; put the best setting of "
                f"`sfd sweep {raw['sweep']} --constraint ...` in the config",
            )
    return Tuning(raw["sweep"], str(raw["constraint"]), grid, spec.metric["name"], spec.metric["goal"], chosen)


def tuning_note(t: Tuning) -> str:
    """The footnote: the grid, how the setting was chosen, and the setting."""
    grid = " x ".join(f"{_short(k)} {{{', '.join(_text(v) for v in vs)}}}" for k, vs in t.grid.items())
    runs = math.prod(len(vs) for vs in t.grid.values())
    chosen = ", ".join(f"{_short(k)} {_text(v)}" for k, v in t.chosen.items())
    best = "lowest" if t.goal == "minimize" else "highest"
    return (
        f'tuned over {grid} ({runs} runs, `sfd sweep {t.sweep} --constraint "{t.constraint}"`): the {best} '
        f"{t.metric} among the settings with {t.constraint}; this row: {chosen}"
    )
