"""What an attack declares to be registered (``attack.registry``): its name, its options and its rows function, and
how an option's value is read (the command line's text, or a Python value) and checked."""

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple, Union

from sfd_lightning.errors import ConfigError

MAX_STEPS = 100_000  # every step budget: 100 times the papers' largest (1,000 relearning steps); past it, a typo
MAX_RESTARTS = 100
# Adam moves every weight by about the learning rate a step: past 1,000 nothing is learned, and the step no longer
# fits half-precision (or, past 3.4e38, single-precision) weights
MAX_LR = 1_000.0
LEARNING_RATE = (0.0, MAX_LR, True)  # > 0
STEPS = (0, MAX_STEPS, False)  # a step budget: >= 0
POSITIVE = (1, math.inf, False)  # a count: >= 1

# kind: (the settings field's type, the command line option's argparse type)
KINDS = {
    "int": (int, int),
    "float": (float, float),
    "floats": (Sequence[float], str),  # comma-separated numbers, each a budget or a grid's value
    "steps": (Sequence[int], str),  # comma-separated whole numbers: step budgets
    "names": (Sequence[str], str),  # comma-separated names among ``choices``
}


@dataclass(frozen=True)
class Option:
    """One setting of an attack: an ``AttackSettings`` field and (with ``help``) an ``sfd attack`` option
    ``--<name with dashes>`` and a keyword argument of ``attack()``."""

    name: str
    kind: str  # a key of KINDS
    default: Any  # a number, or a tuple for the list kinds
    help: Optional[str]  # the --help text; None: a setting of AttackCallback only, not on the command line
    allowed: Tuple[float, float, bool] = (0, math.inf, False)  # (low, high, low excluded); names: unused
    choices: Tuple[str, ...] = ()  # kind names: the allowed names
    compare: bool = False  # sfd compare passes its spec's ``attack.<name>`` on to the attack

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def read(self, value: Any) -> Any:
        """``value`` (the option's text, a list or a number) as the setting's type, in the option's format; ranges
        are :meth:`check`'s."""
        if self.kind in ("int", "float"):
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number or (self.kind == "int" and not isinstance(value, int)):
                raise ConfigError(
                    self.flag, f"must be {'a whole number' if self.kind == 'int' else 'a number'}, got {value!r}"
                )
            return value
        text = listed(value)
        if self.kind == "floats":
            return floats(text, self.flag)
        if self.kind == "steps":
            return whole_numbers(text, self.flag)
        return [w.strip() for w in text.split(",") if w.strip()]

    def check(self, value: Any) -> None:
        """One ConfigError naming the option if ``value`` is outside what it allows."""
        if self.kind == "names":
            if not value or not set(value) <= set(self.choices):
                raise ConfigError(self.flag, f"must be among {', '.join(self.choices)}, got {list(value)}")
            return
        check_range(self.flag, value, *self.allowed)


def steps_label(row: Dict[str, Any]) -> str:
    """A step budget's label in the table."""
    return f"{row['budget']} steps"


@dataclass(frozen=True)
class Attack:
    """An attack: its ``--attack`` name (its rows' ``attack``), its options, and ``rows(target, ctx)``, its rows on
    one target (``attack.rows.row``), with what the run and its reports need to know of it."""

    name: str
    rows: Callable[..., List[Dict[str, Any]]]  # (target: Pipeline, ctx: AttackContext) -> rows
    options: Tuple[Option, ...] = ()  # its own settings (one it shares with another is declared by one of them)
    prompt_only: bool = False  # attacks prompt-conditional runs only: left out of ``all`` on class runs
    needs: FrozenSet[str] = frozenset()  # "examples" (of the concept), "retained" (examples): inputs it is given
    axis: Optional[str] = None  # the plot's budget axis (attack.png), None: no panel
    label: Callable[[Dict[str, Any]], str] = steps_label  # a row's budget in the table
    column: Optional[str] = None  # sfd compare's column key (``{budget}``, ``{lora}``), None: compare leaves it out
    compare_when: Optional[str] = None  # the compare spec's attack key that turns it on; None: always (if column)
    check: Optional[Callable[..., None]] = None  # (targets, settings, spec): refuses a setting before any attack runs
    notes: Optional[Callable[[Dict[str, Any]], List[str]]] = None  # lines under the table, from the run's result


def listed(value: Any) -> str:
    """A list argument (or one value) as its option's comma-separated text."""
    return ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def floats(text: str, field: str) -> List[float]:
    """Comma-separated numbers (their range is the option's check)."""
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(field, f"expected comma-separated numbers, got {text!r}") from None


def whole_numbers(text: str, field: str) -> List[int]:
    """Comma-separated whole numbers: step budgets."""
    values = floats(text, field)
    if not all(math.isfinite(v) and v == int(v) for v in values):
        raise ConfigError(field, f"expected comma-separated whole numbers, got {text!r}")
    return [int(v) for v in values]


def check_range(
    field: str, values: Union[float, Sequence[float]], low: float, high: float = math.inf, low_open: bool = False
) -> None:
    """``values`` (a number, or a sequence of at least one) finite, above ``low`` (or at it unless ``low_open``) and
    at most ``high``; else a ConfigError naming ``field`` with the first value out of range and what is allowed."""
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    inside = [math.isfinite(v) and (v > low if low_open else v >= low) and v <= high for v in values]
    if values and all(inside):
        return
    got = values[inside.index(False)] if values else "nothing"
    allowed = f"finite numbers {'>' if low_open else '>='} {low:g}" + ("" if high == math.inf else f" and <= {high:,g}")
    raise ConfigError(field, f"out of range: {got!r} (allowed: {allowed})")
