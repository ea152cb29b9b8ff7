"""``sfd eval --forget-label 0,3,5 --override-label 1,8,6``: the forgotten classes and their overrides, checked."""

from typing import Any, List, Optional, Sequence, Tuple

from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting.forget_set import ForgetClass, forget_classes


def class_list(value: Any, field: str, allow_none: bool = False) -> Optional[List[Optional[int]]]:
    """One class index or a list of them, given as an int, a sequence or text (``3``, ``0,3,5``); None stays None.
    ``allow_none``: a sequence may hold None (a class whose override is not fixed)."""
    if value is None:
        return None
    if isinstance(value, str):
        items: Sequence[Any] = [part.strip() for part in value.split(",")]
    else:
        items = list(value) if isinstance(value, (list, tuple)) else [value]
    out = [_index(item, field, allow_none) for item in items]
    if not out:
        raise ConfigError(field, "is empty; give a class index or a comma-separated list of them, e.g. 0,3,5")
    return out


def _index(item: Any, field: str, allow_none: bool) -> Optional[int]:
    if item is None and allow_none:
        return None
    if isinstance(item, int) and not isinstance(item, bool):
        return item
    if isinstance(item, str) and item.lstrip("-").isdigit():
        return int(item)
    raise ConfigError(field, f"must be a class index or a comma-separated list of them, e.g. 0,3,5; got {item!r}")


def eval_forget_classes(
    forget_label: Any, override_label: Any, sample_labels: Optional[Sequence[int]]
) -> Tuple[ForgetClass, ...]:
    """The forgotten classes (none without ``--forget-label``), each with its override: one override for all or one
    per class; no class twice, each among ``sample_labels`` (when the samples have labels), no override forgotten."""
    labels = class_list(forget_label, "--forget-label")
    overrides = class_list(override_label, "--override-label", allow_none=True)
    if labels is None:
        return ()
    if overrides is not None and len(overrides) == 1:
        overrides = overrides[0]  # one override stands for every forgotten class
    classes = forget_classes(labels, overrides, None, "--forget-label", "--override-label")
    if sample_labels is not None:
        present = set(sample_labels)
        missing = [c.label for c in classes if c.label not in present]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            raise ConfigError("--forget-label", f"{', '.join(map(str, missing))} {verb} not among the samples' labels")
    return classes
