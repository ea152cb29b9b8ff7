"""What a method's folder under the comparison's ``out`` was computed from (``method.json``).

A rerun reuses a folder's checkpoint and scores (the comparison resumes), so they must belong to the same
definition: the method's config (and its file's contents), checkpoint (path, size and time), extra options,
the comparison's pair or prompts, and its evaluation and attack settings. A folder computed from another
definition is refused before anything runs, naming what differs; it is never reused or deleted silently.
"""

import json
import os
from typing import Any, Dict, List, Optional

from sfd_lightning.compare.spec import CompareSpec, Method
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.fingerprint import file_sha256

RECORD = "method.json"


def _file_identity(path: Optional[str], contents: bool) -> Any:
    if not path or not os.path.isfile(path):
        return None
    if contents:  # a config: small, and edited in place
        return file_sha256(path)
    stat = os.stat(path)  # a checkpoint: too large to hash at every rerun
    return [stat.st_size, stat.st_mtime_ns]


def definition(method: Method, spec: CompareSpec) -> Dict[str, Any]:
    """Everything a method's results depend on, as plain JSON values."""
    value = {
        "config": method.config,
        "config_file": _file_identity(method.config, contents=True),
        "ckpt": method.ckpt,
        "ckpt_file": _file_identity(method.ckpt, contents=False),
        "args": method.args,
        "retrain": method.retrain,
        "steps": method.steps,
        "forget_label": spec.forget_label,
        "override_label": spec.override_label,
        "num_classes": spec.num_classes,
        "prompts": spec.prompts,
        "evaluation": spec.evaluation,
        "attack": spec.attack,
        **({"benchmark": spec.benchmark} if spec.benchmark is not None else {}),
    }
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def check_record(method: Method, spec: CompareSpec, folder: str, field: str) -> None:
    """Refuse a non-empty ``folder`` whose results were computed from another definition (or an unknown one)."""
    if not os.path.isdir(folder) or not os.listdir(folder):
        return
    record = os.path.join(folder, RECORD)
    remedy = f"remove {folder!r} to compute it again, or give another --out"
    try:
        with open(record) as f:
            stored = json.load(f)
    except (OSError, ValueError):
        raise ConfigError(
            field,
            f"{folder!r} holds results with no readable {RECORD} (an earlier version or another "
            f"comparison made them); {remedy}",
        ) from None
    changed = differences(method, spec, stored)
    if changed:
        raise ConfigError(
            field,
            f"{folder!r} holds results of {method.name!r} computed with other settings "
            f"({', '.join(changed)} differ); {remedy}",
        )


def differences(method: Method, spec: CompareSpec, stored: Any) -> List[str]:
    """The keys of the method's definition that ``stored`` (a folder's record) gives otherwise."""
    wanted, stored = definition(method, spec), stored if isinstance(stored, dict) else {}
    return sorted(k for k in set(wanted) | set(stored) if wanted.get(k) != stored.get(k))


def same_definition(method: Method, spec: CompareSpec, folder: str) -> bool:
    """Whether ``folder`` records the method's definition (its results belong to this comparison)."""
    try:
        with open(os.path.join(folder, RECORD)) as f:
            return not differences(method, spec, json.load(f))
    except (OSError, ValueError):
        return False


def write_record(method: Method, spec: CompareSpec, folder: str) -> None:
    """Record the method's definition in its folder (created if need be)."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, RECORD), "w") as f:
        json.dump(definition(method, spec), f, indent=1, sort_keys=True)
