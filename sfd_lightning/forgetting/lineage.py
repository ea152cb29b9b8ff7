"""A released generator's lineage: every forget request it has carried out, in order, so a later request forgets
more without undoing the earlier ones.

Each step records what it forgot (its classes with their overrides, or its concepts with their replacements),
a hash of its settings, its date and the fingerprint of its teacher. A checkpoint stores the lineage as
``sfd_lineage``; ``sfd export`` copies it into ``sfd_generator.json`` (``lineage``) and the model card. A sequential
step (``model.previous``) reads it, refuses a release without one or of another teacher, and forgets the union of
what the release forgot and its own request.
"""

import datetime
import hashlib
import json
from typing import Any, Dict, List, Sequence, Tuple

import torch
from torch import nn

from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting.forget_set import Concept, ForgetClass

SAMPLED = 256  # values of each tensor the fingerprint reads, evenly spread


def teacher_fingerprint(teacher: nn.Module) -> str:
    """A short hash of the teacher's weights: every tensor's name, shape and :data:`SAMPLED` of its values, rounded
    to bfloat16 so a base loaded in bfloat16 and in float32 agree. Reads a few values per tensor, not gigabytes."""
    digest = hashlib.sha256()
    for name, tensor in sorted(teacher.state_dict().items()):
        if not torch.is_floating_point(tensor):
            continue
        flat = tensor.detach().reshape(-1)
        index = torch.linspace(0, max(len(flat) - 1, 0), min(SAMPLED, len(flat))).long()
        values = flat[index.to(flat.device)].to(torch.bfloat16).float().cpu()
        digest.update(f"{name}{tuple(tensor.shape)}".encode())
        digest.update(values.numpy().tobytes())
    return digest.hexdigest()[:16]


def config_hash(config: Any) -> str:
    """A short hash of a run's settings (JSON, keys sorted; what JSON cannot write, by its text)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def forget_record(classes: Sequence[ForgetClass] = (), concepts: Sequence[Concept] = ()) -> Dict[str, Any]:
    """What one step forgot, as stored: its classes or its concepts (empty: a distillation that forgot nothing)."""
    if classes:
        return {"classes": [c.as_dict() for c in classes]}
    if concepts:
        return {"concepts": [c.as_dict() for c in concepts]}
    return {}


def step(forget: Dict[str, Any], settings_hash: str, teacher: str, date: str = "") -> Dict[str, Any]:
    """One lineage step (``date``: today, ISO, when not given)."""
    return {
        "forget": forget,
        "config_hash": settings_hash,
        "date": date or datetime.date.today().isoformat(),
        "teacher": teacher,
    }


def check_lineage(lineage: Any, where: str, field: str) -> List[Dict[str, Any]]:
    """``lineage`` if it is a list of well-formed steps, else a ConfigError on ``field`` naming ``where``."""
    if not isinstance(lineage, list) or not lineage:
        raise ConfigError(
            field,
            f"{where} records no lineage (what it has forgotten); only a release exported by this version can "
            "take another forget request",
        )
    for i, entry in enumerate(lineage):
        ok = isinstance(entry, dict) and isinstance(entry.get("forget"), dict) and isinstance(entry.get("teacher"), str)
        forget = entry.get("forget") if ok else None
        ok = (
            ok
            and set(forget) <= {"classes", "concepts", "nudity"}
            and all(isinstance(v, list) for v in forget.values())
        )
        if not ok:
            raise ConfigError(field, f"{where}: lineage step {i + 1} is malformed ({str(entry)[:80]})")
    return lineage


def check_teacher(lineage: Sequence[Dict[str, Any]], fingerprint: str, where: str, field: str) -> None:
    """Every step of ``lineage`` was made from the teacher whose fingerprint is ``fingerprint``."""
    for i, entry in enumerate(lineage):
        if entry["teacher"] != fingerprint:
            raise ConfigError(
                field,
                f"{where} was made from another teacher (step {i + 1}: teacher {entry['teacher']}, this run's "
                f"{fingerprint}); a sequential request continues from a release of the same teacher",
            )


def forgotten_classes(lineage: Sequence[Dict[str, Any]], field: str) -> Tuple[ForgetClass, ...]:
    """Every class the lineage forgot, in order of first request, with its override."""
    out: Dict[int, ForgetClass] = {}
    for entry in lineage:
        for item in entry["forget"].get("classes", []):
            try:
                c = ForgetClass(int(item["label"]), None if item["override"] is None else int(item["override"]))
            except (KeyError, TypeError, ValueError):
                raise ConfigError(field, f"lineage class entry {item!r} is malformed") from None
            out.setdefault(c.label, c)
    return tuple(out.values())


def forgotten_concepts(lineage: Sequence[Dict[str, Any]], field: str) -> Tuple[Concept, ...]:
    """Every concept the lineage forgot, in order of first request, with its replacement."""
    out: Dict[str, Concept] = {}
    for entry in lineage:
        for item in entry["forget"].get("concepts", []):
            try:
                c = Concept(str(item["concept"]), str(item["replacement"]))
            except (KeyError, TypeError):
                raise ConfigError(field, f"lineage concept entry {item!r} is malformed") from None
            out.setdefault(c.concept.lower(), c)
    return tuple(out.values())


def union_classes(
    previous: Sequence[ForgetClass], request: Sequence[ForgetClass], field: str
) -> Tuple[ForgetClass, ...]:
    """The release's forgotten classes, then the request's new ones; a class requested again must keep its override,
    and no new override may be a class the release forgot."""
    before = {c.label: c for c in previous}
    new = []
    for c in request:
        if c.label in before:
            if before[c.label].override != c.override:
                raise ConfigError(
                    field,
                    f"class {c.label} was forgotten before with override {before[c.label].override}; "
                    f"request it again with the same override or leave it out",
                )
            continue
        if c.override in before:
            raise ConfigError(field, f"overrides class {c.label} with {c.override}, which the release forgot")
        new.append(c)
    return tuple(previous) + tuple(new)


def union_concepts(previous: Sequence[Concept], request: Sequence[Concept], field: str) -> Tuple[Concept, ...]:
    """The release's forgotten concepts, then the request's new ones (a concept requested again keeps its first
    replacement only if it is the same)."""
    before = {c.concept.lower(): c for c in previous}
    new = []
    for c in request:
        old = before.get(c.concept.lower())
        if old is not None:
            if old.replacement.lower() != c.replacement.lower():
                raise ConfigError(
                    field,
                    f"{c.concept!r} was forgotten before with replacement {old.replacement!r}; "
                    "request it again with the same replacement or leave it out",
                )
            continue
        new.append(c)
    return tuple(previous) + tuple(new)


def forget_set_meta(lineage: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """What an export's metadata says the generator forgets, from its lineage: every forgotten class and its override
    (``forget_label``, ``override_label``: one value, or lists when several), or every concept (``concepts``);
    empty when the lineage forgot nothing."""
    classes = forgotten_classes(lineage, "lineage")
    if classes:
        labels, overrides = [c.label for c in classes], [c.override for c in classes]
        if len(classes) == 1:
            return {"forget_label": labels[0], "override_label": overrides[0]}
        return {"forget_label": labels, "override_label": overrides}
    concepts = forgotten_concepts(lineage, "lineage")
    return {"concepts": [c.as_dict() for c in concepts]} if concepts else {}
