"""A run's forget set: the classes it forgets, each with its override, or the prompt concepts it forgets, each with
its replacement.

One value (``forget_label: 0``, ``concept: seven``) stays a set of one, so every config and checkpoint written before
lists were allowed means what it meant. Each bad list is refused in one line naming the field: an empty list, a
duplicate, a class that is its own override (or overrides another forgotten class), a concept equal to its
replacement.
"""

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from sfd_lightning.errors import ConfigError

Label = Union[int, str]


@dataclass(frozen=True)
class ForgetClass:
    """A forgotten class and the class the teacher is shown for it (``override``: None where a policy picks)."""

    label: int
    override: Optional[int] = None

    def as_dict(self) -> Dict[str, Any]:
        return {"label": self.label, "override": self.override}


@dataclass(frozen=True)
class Concept:
    """A forgotten prompt concept (as it appears in prompts, matched case-insensitively) and its replacement."""

    concept: str
    replacement: str

    def as_dict(self) -> Dict[str, str]:
        return {"concept": self.concept, "replacement": self.replacement}


def as_list(value: Any) -> List[Any]:
    """A config value that is one item or a list of them, as a list (None: empty)."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def index_label(value: Optional[Label], num_classes: Optional[int], field: str) -> Optional[int]:
    """A class index given as an int or a digit string (class names: the caller's ``resolve``); None stays None."""
    if value is None or isinstance(value, int):
        return value
    if str(value).strip().lstrip("-").isdigit():
        return int(str(value).strip())
    raise ConfigError(field, f"{value!r} is not a class index; give an integer in [0, {(num_classes or 0) - 1}]")


def forget_classes(
    forget_label: Union[Label, Sequence[Label]],
    override_label: Union[Label, None, Sequence[Optional[Label]]],
    num_classes: Optional[int],
    field: str = "model.forget_label",
    override_field: str = "model.override_label",
    resolve_label: Callable[[Optional[Label], Optional[int], str], Optional[int]] = index_label,
) -> Tuple[ForgetClass, ...]:
    """``forget_label`` (one class or a list) with ``override_label`` (one class for every forgotten class, a list of
    the same length, or null where a policy picks; a null entry leaves that class to the policy), checked.
    ``resolve_label(value, num_classes, field)`` turns each into an index (default: indices only; SFD passes the
    resolver that also knows ImageNet's class names)."""
    labels = [resolve_label(v, num_classes, field) for v in as_list(forget_label)]
    if not labels:
        raise ConfigError(field, "is empty; give a class or a list of classes to forget")
    if isinstance(override_label, (list, tuple)):
        if len(override_label) != len(labels):
            raise ConfigError(
                override_field,
                f"has {len(override_label)} entries for {len(labels)} forgotten classes; give one per class",
            )
        overrides = [resolve_label(v, num_classes, override_field) for v in override_label]
    else:
        overrides = [resolve_label(override_label, num_classes, override_field)] * len(labels)
    classes = tuple(ForgetClass(label, override) for label, override in zip(labels, overrides))
    check_classes(classes, num_classes, field, override_field)
    return classes


def check_classes(classes: Sequence[ForgetClass], num_classes: Optional[int], field: str, override_field: str) -> None:
    """No duplicate, every class among the classes, no override that is itself forgotten."""
    labels = [c.label for c in classes]
    seen = set()
    for label in labels:
        if label in seen:
            raise ConfigError(field, f"lists class {label} twice; give each forgotten class once")
        seen.add(label)
        if num_classes is not None and not 0 <= label < num_classes:
            raise ConfigError(field, f"must be in [0, {num_classes - 1}], got {label}")
    for c in classes:
        if c.override is None:
            continue
        if num_classes is not None and not 0 <= c.override < num_classes:
            raise ConfigError(override_field, f"must be in [0, {num_classes - 1}], got {c.override}")
        if c.override in seen:
            what = "its own class" if c.override == c.label else f"class {c.override}, which is forgotten too"
            raise ConfigError(override_field, f"overrides class {c.label} with {what}; pick a retained class")


def concepts_from_items(items: Sequence[Any], field: str = "data.concepts") -> Tuple[Concept, ...]:
    """Concepts and replacements from a list of ``{concept, replacement}`` mappings or ``[concept, replacement]``
    pairs, checked (:func:`check_concepts`). A CSV/TSV file: ``data.concept_list.read_concepts``."""
    concepts = tuple(_concept(item, f"{field}[{i}]") for i, item in enumerate(items))
    check_concepts(concepts, field)
    return concepts


def _concept(item: Any, field: str) -> Concept:
    if isinstance(item, dict) and set(item) == {"concept", "replacement"}:
        concept, replacement = item["concept"], item["replacement"]
    elif isinstance(item, (list, tuple)) and len(item) == 2:
        concept, replacement = item
    else:
        raise ConfigError(
            field, f"must be {{concept: ..., replacement: ...}} or a [concept, replacement] pair, got {item!r}"
        )
    if not isinstance(concept, str) or not isinstance(replacement, str):
        raise ConfigError(field, f"concept and replacement must be text, got {concept!r} and {replacement!r}")
    return Concept(concept.strip(), replacement.strip())


def check_concepts(concepts: Sequence[Concept], field: str) -> None:
    """Not empty, no blank or duplicate concept (case-insensitive), none equal to its replacement."""
    if not concepts:
        raise ConfigError(field, "is empty; give at least one concept and its replacement")
    seen = set()
    for c in concepts:
        key = c.concept.lower()
        if not key:
            raise ConfigError(field, "holds a blank concept; every concept is text that appears in prompts")
        if key in seen:
            raise ConfigError(field, f"lists the concept {c.concept!r} twice; give each concept once")
        if key == c.replacement.lower():
            raise ConfigError(field, f"replaces {c.concept!r} with itself; its replacement must differ")
        seen.add(key)
    for c in concepts:
        shown = [other.concept for other in concepts if other.concept.lower() in c.replacement.lower().split()]
        if shown:
            raise ConfigError(
                field, f"replaces {c.concept!r} with {c.replacement!r}, which names the forgotten {shown[0]!r}"
            )
