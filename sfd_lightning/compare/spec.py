"""A comparison spec (``experiments/compare/digits.yaml``, ``experiments/compare/digits_text.yaml``), read as data
(``yaml.safe_load``) and checked before anything runs.

A spec with ``prompts`` compares prompt-conditioned models: every method forgets ``prompts.concept`` (shown
``prompts.replacement``), samples the prompts of ``prompts.file``, and each sample is scored as the class its
prompt names (``class_words``), so ``forget_label`` and ``override_label`` are the classes the two words name.

``forget_label`` may list several classes (``[0, 3, 5]``, with ``override_label: [1, 8, 6]`` or one override for
all), and ``prompts.concept`` several concepts (with as many ``prompts.replacement``): the table then shows each
forgotten class's accuracy, the worst and the mean (``compare.forgotten``)."""

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Union

from sfd_lightning.attack.inputs import DIGIT_WORDS
from sfd_lightning.attack.registry import ATTACKS
from sfd_lightning.benchmark.main import check_spec_options
from sfd_lightning.compare.forgotten import check_labels, prompt_concepts, read_label, refuse_single_class_methods
from sfd_lightning.compare.tuning import read_tuning
from sfd_lightning.data.prompt_files import read_prompt_file
from sfd_lightning.data.prompts import class_of
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.folder_name import check_folder_name, folder_name
from sfd_lightning.io.yaml_file import read_yaml


@dataclass
class Method:
    """One row of the table: a config ``sfd fit`` trains (or a checkpoint used as it is) and how it samples."""

    name: str
    steps: int  # network evaluations per image of its sampler (1: SFD's one step; DDIM steps)
    data: str  # what training needed: "none", "teacher samples", "real data"
    config: Optional[str] = None  # trained with sfd fit; null: ``ckpt`` as it is
    ckpt: Optional[str] = None
    args: List[str] = field(default_factory=list)  # extra sfd fit options
    retrain: bool = False  # forgets by leaving the class out of the data (data.labels), not by model.forget_label
    note: str = ""  # printed under the table
    tuned: Optional[Any] = None  # {sweep, constraint}: the grid its config's setting was chosen from (a footnote)


@dataclass
class CompareSpec:
    out: str
    forget_label: Union[int, List[int]]  # a list: several classes forgotten (``compare.forgotten``)
    override_label: Union[int, List[Optional[int]]]
    num_classes: int
    methods: List[Method]
    evaluation: Optional[Dict[str, Any]]  # None (``evaluation: false``): no class-judged evaluation or speed
    attack: Optional[Dict[str, Any]] = None
    reference_method: str = "teacher"  # the FID ratio's denominator
    prompts: Optional[Dict[str, Any]] = None  # file, concept, replacement, class_words: a prompt comparison
    benchmark: Optional[List[str]] = None  # sfd benchmark options run for every method (Stable Diffusion suites)

    def prompt_list(self) -> List[str]:
        return read_prompt_file(self.prompts["file"], "prompts.file")

    def folder_of(self, method: Method) -> str:
        """The method's folder under ``out``: its definition, checkpoint, scores and row."""
        return os.path.join(self.out, folder_name(method.name))


def _check_names(methods: List[Method]) -> None:
    """Names that make safe folders (a method's folder under ``out`` is ``folder_name(name)``), one folder a method:
    "Teacher" and "teacher" would share cached results."""
    seen: Dict[str, str] = {}
    for i, method in enumerate(methods):
        name = check_folder_name(method.name, f"methods[{i}].name")
        if folder_name(name) in seen:
            raise ConfigError(
                f"methods[{i}].name",
                f"{name!r} and {seen[folder_name(name)]!r} would share the folder "
                f"{folder_name(name)!r}; names must differ other than in case and '_' for ' '",
            )
        seen[folder_name(name)] = name


EVALUATION = {
    "n_per_label": 200,
    "seeds": [1, 2],
    "reference": "digits",
    "classifier": "assets/digits_classifier.pt",
    "features": "classifier:assets/digits_classifier.pt",
    "speed_batch": 256,
}


def _evaluation(raw: Any) -> Optional[Dict[str, Any]]:
    """The spec's evaluation settings over the defaults; ``false`` leaves the class-judged evaluation out (a Stable
    Diffusion comparison judged by ``benchmark`` alone)."""
    if raw is False:
        return None
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError("evaluation", f"must be a mapping of settings or false, got {raw!r}")
    for key, value in (raw or {}).items():
        _check_setting(key, value)
    return {**EVALUATION, **(raw or {})}


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_setting(key: str, value: Any) -> None:
    """One evaluation setting, of the type its default has: the verbs' functions take it as it is (no command line
    converts text), so ``n_per_label: "200"`` is refused here, before any method is trained."""
    field = f"evaluation.{key}"
    if key not in EVALUATION:
        raise ConfigError(field, f"unknown setting; allowed: {', '.join(sorted(EVALUATION))}")
    default = EVALUATION[key]
    if isinstance(default, list) and not (isinstance(value, list) and value and all(_whole(v) for v in value)):
        raise ConfigError(field, f"must be a list of whole numbers, got {value!r}")
    if _whole(default) and not (_whole(value) and value >= 1):
        raise ConfigError(field, f"must be a whole number >= 1, got {value!r}")
    if isinstance(default, str) and not isinstance(value, str):
        raise ConfigError(field, f"must be text, got {value!r}")


def _attack(raw: Any) -> Optional[Dict[str, Any]]:
    """The spec's attack settings, checked by name and type when the spec is read: ``sfd attack`` checks them too,
    but only after every method is trained. Required: the run's own (``n``, ``teacher_steps``, ``examples``,
    ``teacher``) and the compared options of the attacks always run; ``false`` (or none) runs no attack."""
    if raw is None or raw is False or raw == {}:
        return raw
    if not isinstance(raw, dict):
        raise ConfigError("attack", f"must be a mapping of settings or false, got {raw!r}")
    compared = [a for a in ATTACKS.values() if a.column]
    options = {o.name: o for a in compared for o in a.options if o.compare}
    required = {"n", "teacher_steps", "examples", "teacher"}
    required |= {o.name for a in compared if a.compare_when is None for o in a.options if o.compare}
    allowed = required | set(options) | {a.compare_when for a in compared if a.compare_when}
    for key in sorted(required - set(raw)):
        raise ConfigError(f"attack.{key}", f"missing; the attack settings need {', '.join(sorted(required))}")
    for key, value in raw.items():
        _check_attack_setting(key, value, allowed, options)
    return raw


def _check_attack_setting(key: str, value: Any, allowed: Set[str], options: Dict[str, Any]) -> None:
    field = f"attack.{key}"
    if key not in allowed:
        raise ConfigError(field, f"unknown setting; allowed: {', '.join(sorted(allowed))}")
    if key in ("n", "teacher_steps") and not (_whole(value) and value >= 1):
        raise ConfigError(field, f"must be a whole number >= 1, got {value!r}")
    if key in ("examples", "teacher") and not isinstance(value, str):
        raise ConfigError(field, f"must be text, got {value!r}")
    if key in options:
        try:
            options[key].check(options[key].read(value))
        except ConfigError as err:  # named by the spec's key, not sfd attack's option
            raise ConfigError(field, str(err).removeprefix(f"{err.field}: ")) from None


def _method(raw: Any, i: int) -> Method:
    where = f"methods[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError(where, f"must be a mapping with name, steps, data and config or ckpt, got {raw!r}")
    unknown = set(raw) - set(Method.__dataclass_fields__)
    if unknown:
        raise ConfigError(
            f"{where}.{sorted(unknown)[0]}", f"unknown key; allowed: {sorted(Method.__dataclass_fields__)}"
        )
    for key in ("name", "steps", "data"):
        if key not in raw:
            raise ConfigError(f"{where}.{key}", "required")
    if (raw.get("config") is None) == (raw.get("ckpt") is None):
        raise ConfigError(where, "give exactly one of config (trained by sfd fit) and ckpt (used as it is)")
    if not isinstance(raw["steps"], int) or raw["steps"] < 1:
        raise ConfigError(f"{where}.steps", f"must be an integer >= 1, got {raw['steps']!r}")
    method = Method(**raw)
    if method.tuned is not None:
        method.tuned = read_tuning(method.tuned, method.config, method.args, f"{where}.tuned")
    return method


def _prompts(raw: Any, forget_label: Any, override_label: Any) -> Optional[Dict[str, Any]]:
    """The spec's prompt settings, checked: the file reads, and the concept and replacement (or each of their lists)
    name the spec's classes."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not {"file", "concept", "replacement"} <= set(raw):
        raise ConfigError(
            "prompts", f"must be a mapping with file, concept and replacement (and class_words), got {raw!r}"
        )
    unknown = set(raw) - {"file", "concept", "replacement", "class_words"}
    if unknown:
        raise ConfigError(
            f"prompts.{sorted(unknown)[0]}", "unknown key; allowed: class_words, concept, file, replacement"
        )
    prompts = {"class_words": list(DIGIT_WORDS), **raw}
    read_prompt_file(prompts["file"], "prompts.file")
    concepts = prompt_concepts(prompts, forget_label)
    pairs = [(prompts["concept"], prompts["replacement"], forget_label, override_label, "")]
    if concepts is not None:
        overrides = override_label if isinstance(override_label, list) else [override_label] * len(concepts)
        pairs = [
            (c.concept, c.replacement, f, o, f"[{i}]")
            for i, (c, f, o) in enumerate(zip(concepts, forget_label, overrides))
        ]
    for concept, replacement, forget, override, at in pairs:
        for key, word, label in (("concept", concept, forget), ("replacement", replacement, override)):
            named = class_of(word, prompts["class_words"], f"prompts.{key}")
            if named != label:
                field_name = ("forget_label" if key == "concept" else "override_label") + at
                raise ConfigError(f"prompts.{key}", f"{word!r} names class {named}, but {field_name} is {label}")
    return prompts


def read_spec(path: str) -> CompareSpec:
    raw = read_yaml(path, "spec")
    if not isinstance(raw, dict) or not isinstance(raw.get("methods"), list) or not raw["methods"]:
        raise ConfigError("methods", f"{path!r} must hold a non-empty list of methods")
    methods = [_method(m, i) for i, m in enumerate(raw["methods"])]
    _check_names(methods)
    names = [m.name for m in methods]
    spec = CompareSpec(
        out=str(raw.get("out", "runs/compare")),
        forget_label=read_label(raw.get("forget_label", 0), "forget_label"),
        override_label=read_label(raw.get("override_label", 1), "override_label"),
        num_classes=int(raw.get("num_classes", 10)),
        methods=methods,
        evaluation=_evaluation(raw.get("evaluation")),
        attack=_attack(raw.get("attack")),
        reference_method=str(raw.get("reference_method", "teacher")),
        benchmark=raw.get("benchmark"),
    )
    if spec.benchmark is not None:
        check_spec_options(spec.benchmark, "benchmark")
    spec.prompts = _prompts(raw.get("prompts"), spec.forget_label, spec.override_label)
    if spec.reference_method not in names:
        raise ConfigError("reference_method", f"{spec.reference_method!r} is none of the methods {names}")
    check_pair(spec, "forget_label", "override_label")
    if isinstance(spec.forget_label, list):
        prompt_list = spec.prompts is not None and isinstance(spec.prompts["concept"], list)
        refuse_single_class_methods(
            spec, "prompts.concept" if prompt_list else "forget_label", "concepts" if prompt_list else "classes"
        )
    return spec


def check_pair(spec: CompareSpec, field: str, override_field: Optional[str] = None) -> None:
    """The forget and override labels are distinct classes of the spec's (lists: ``compare.forgotten``)."""
    check_labels(spec, field, override_field)
