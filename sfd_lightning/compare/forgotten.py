"""What a comparison forgets: one class (``forget_label: 0``, ``override_label: 1``), as every spec before lists
were allowed, or several (``forget_label: [0, 3, 5]`` with ``override_label: [1, 8, 6]``, or one override for all),
and on a prompt comparison the concepts that name them (``prompts.concept: [seven, three]`` with
``prompts.replacement: [one, eight]``). Every list is checked when the spec is read, each error one line naming the
spec's field; the baselines (ESD, SalUn, Selective Amnesia) forget one class, so a list refuses them there too."""

import json
from typing import Any, Dict, Optional, Tuple

from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting.forget_set import Concept, ForgetClass, check_concepts, forget_classes
from sfd_lightning.io.yaml_file import read_yaml

BASELINES = "sfd_lightning.baselines."  # the package of the methods that forget one class


def read_label(value: Any, field: str) -> Any:
    """A class (a whole number) or a list of them, as the spec gives it; anything else is refused by ``field``."""
    values = value if isinstance(value, list) else [value]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            if v is None and field == "override_label" and isinstance(value, list):
                continue  # a null entry leaves that class to model.override's policy
            raise ConfigError(field, f"must be a class (a whole number) or a list of them, got {value!r}")
    return list(value) if isinstance(value, list) else value


def several(spec: Any) -> bool:
    """Whether the comparison forgets a list of classes (one-item lists too: each gets its own columns)."""
    return isinstance(spec.forget_label, list)


def classes_of(spec: Any, field: str = "forget_label", override_field: str = "override_label") -> Tuple:
    """The spec's forgotten classes, each with its override, checked: no empty list, no duplicate, no override that
    is forgotten, as many overrides as classes, every class one of ``num_classes``."""
    return forget_classes(spec.forget_label, spec.override_label, spec.num_classes, field, override_field)


def check_labels(spec: Any, field: str, override_field: Optional[str] = None) -> None:
    """The forget and override labels: one pair of distinct classes of the spec's (``field`` names both), or lists
    checked by :func:`classes_of`; a list's overrides are stored one per class."""
    if not several(spec) and not isinstance(spec.override_label, list):
        if (
            not all(0 <= c < spec.num_classes for c in (spec.forget_label, spec.override_label))
            or spec.override_label == spec.forget_label
        ):
            raise ConfigError(
                field,
                f"forget {spec.forget_label} and override {spec.override_label} must be distinct classes "
                f"of {spec.num_classes}",
            )
        return
    if not several(spec):
        raise ConfigError(
            override_field or field,
            f"is a list ({spec.override_label}) but forget_label is one class ({spec.forget_label}); give one "
            "override for one class, or a list of classes to forget",
        )
    classes: Tuple[ForgetClass, ...] = classes_of(spec, field, override_field or field)
    spec.override_label = [c.override for c in classes]


def prompt_concepts(prompts: Dict[str, Any], forget_label: Any) -> Optional[Tuple[Concept, ...]]:
    """A prompt comparison's concepts as a list (None for one concept, the spec as it always was): as many concepts
    as replacements and as forgotten classes, none twice, none its own replacement."""
    concept, replacement = prompts["concept"], prompts["replacement"]
    if not isinstance(concept, list):
        if isinstance(replacement, list) or isinstance(forget_label, list):
            what = "prompts.replacement" if isinstance(replacement, list) else "forget_label"
            raise ConfigError("prompts.concept", f"is one concept but {what} is a list; give a list of concepts")
        return None
    if not isinstance(replacement, list) or len(replacement) != len(concept):
        raise ConfigError(
            "prompts.replacement", f"must be a list of as many replacements as prompts.concept ({len(concept)})"
        )
    if not all(isinstance(v, str) for v in concept + replacement):
        raise ConfigError("prompts.concept", f"concepts and replacements must be text, got {concept + replacement}")
    concepts = tuple(Concept(c.strip(), r.strip()) for c, r in zip(concept, replacement))
    check_concepts(concepts, "prompts.concept")
    if not isinstance(forget_label, list) or len(forget_label) != len(concepts):
        raise ConfigError("forget_label", f"must list the class each of the {len(concepts)} concepts names, in order")
    return concepts


def refuse_single_class_methods(spec: Any, field: str, what: str) -> None:
    """A list of classes or concepts (``what``) refuses the methods that forget one (a config whose model is a
    baseline's)."""
    for i, method in enumerate(spec.methods):
        model = model_class(method.config, f"methods[{i}].config") if method.config else ""
        if model.startswith(BASELINES):
            raise ConfigError(
                field,
                f"lists {len(spec.forget_label)} {what} to forget, but {method.name!r} (methods[{i}], "
                f"{model.rsplit('.', 1)[-1]}) forgets one; leave the method out or give one",
            )


def model_class(config: str, field: str) -> str:
    """The ``model.class_path`` of an ``sfd fit`` config (empty if it gives none)."""
    raw = read_yaml(config, field)
    model = raw.get("model") if isinstance(raw, dict) else None
    return str(model.get("class_path", "")) if isinstance(model, dict) else ""


def labels_text(value: Any) -> str:
    """A class or a list of them as an ``sfd fit`` option's value (a list as JSON: a null override stays null)."""
    return json.dumps(value) if isinstance(value, list) else str(value)
