"""Every attack ``sfd attack``, ``AttackCallback`` and ``sfd compare`` run, in one place: ``ATTACKS``, in the order
they run and are reported. An attack is declared in its own module (``attack.options.Attack``); its options become
``AttackSettings`` fields, ``sfd attack`` options and ``attack()`` keyword arguments, checked alike."""

from dataclasses import field, make_dataclass
from typing import Any, Dict, Mapping, Sequence, Set

from sfd_lightning.attack.adversarial_prompt import PROMPT
from sfd_lightning.attack.embedding import EMBEDDING
from sfd_lightning.attack.forget_spec import ForgetSpec
from sfd_lightning.attack.noise import NOISE
from sfd_lightning.attack.options import KINDS, POSITIVE, Option
from sfd_lightning.attack.paraphrase import PARAPHRASE
from sfd_lightning.attack.relearn import BENIGN, RELEARN
from sfd_lightning.errors import ConfigError
from sfd_lightning.pipelines.base import Pipeline

ATTACKS = {a.name: a for a in (NOISE, EMBEDDING, PARAPHRASE, PROMPT, RELEARN, BENIGN)}
PROMPT_ONLY = tuple(name for name, a in ATTACKS.items() if a.prompt_only)  # attacks on prompt-conditional runs only
SAMPLE_ATTACKS = ("noise", "embedding", "paraphrase")  # AttackCallback's default: no fine-tuning
# the run's own settings around the attacks' (their sfd attack options are the command's own)
BEFORE = (Option("n", "int", 200, None, POSITIVE),)  # attacked samples per budget (and retained ones for noise)
AFTER = (
    Option("pinpoint_k", "int", 2, None),  # nearest classes whose collateral damage is reported
    Option("seed", "int", 0, None, (0, 10**15, False)),  # the noise seeds are seed * 1000 + k: within 64 bits
)
OPTIONS = {o.name: o for a in ATTACKS.values() for o in a.options}  # every attack's own options, in run order


def check(settings: Any) -> None:
    """Every option in range, before any work: one ConfigError naming the first one out of it."""
    bad = [a for a in settings.attacks if a not in ATTACKS]
    if bad or not settings.attacks:
        raise ConfigError("--attack", f"must be among {tuple(ATTACKS)} or all, got {list(settings.attacks)}")
    named = [o for o in OPTIONS.values() if o.kind == "names"]
    for option in named + [o for o in (*BEFORE, *OPTIONS.values(), *AFTER) if o.kind != "names"]:
        option.check(getattr(settings, option.name))


AttackSettings = make_dataclass(
    "AttackSettings",
    [("attacks", Sequence[str], field(default=SAMPLE_ATTACKS))]
    + [(o.name, KINDS[o.kind][0], field(default=o.default)) for o in (*BEFORE, *OPTIONS.values(), *AFTER)],
    namespace={"check": check},
)
AttackSettings.__module__ = __name__
AttackSettings.__doc__ = "Budgets and sizes of an attack run (the defaults give the README's digits figures)."


def settings_from(attacks: Sequence[str], values: Mapping[str, Any]) -> Any:
    """``AttackSettings`` of ``attacks`` from the options' values (the command line's text, or Python values: lists
    and numbers), read and checked; an option left out of ``values`` keeps its default."""
    options = {name: OPTIONS[name].read(value) for name, value in values.items() if name in OPTIONS}
    run = {o.name: o.read(values[o.name]) for o in (*BEFORE, *AFTER) if o.name in values}
    settings = AttackSettings(attacks=attacks, **run, **options)
    settings.check()
    return settings


def chosen(names: Sequence[str], prompt_run: bool) -> Sequence[str]:
    """The attacks named (``all``: every registered one that applies to the run)."""
    return [a for a in ATTACKS if a not in PROMPT_ONLY or prompt_run] if "all" in names else names


def check_targets(targets: Sequence[Pipeline], settings: Any, spec: ForgetSpec) -> None:
    """Each chosen attack's own refusals of the settings on these targets, before any attack runs."""
    for name in dict.fromkeys(settings.attacks):
        if ATTACKS[name].check is not None:
            ATTACKS[name].check(targets, settings, spec)


def needs(settings: Any) -> Set[str]:
    """The inputs the chosen attacks need (``examples``, ``retained``)."""
    return set().union(*(ATTACKS[name].needs for name in settings.attacks))


def budget_axes() -> Dict[str, str]:
    """attack -> its plot's budget axis, for the attacks plotted."""
    return {name: a.axis for name, a in ATTACKS.items() if a.axis}
