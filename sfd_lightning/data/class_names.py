"""Class labels given by index or by name (ImageNet's 1,000 class names, from torchvision's metadata)."""

import difflib
from functools import lru_cache
from typing import List, Optional, Union

from sfd_lightning.errors import ConfigError


@lru_cache(maxsize=1)
def imagenet_class_names() -> List[str]:
    """The 1,000 ImageNet-1k class names in index order (bundled with torchvision, no download)."""
    from torchvision.models import ResNet50_Weights

    return list(ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


def resolve_label(value: Union[int, str, None], num_classes: Optional[int], field: str) -> Optional[int]:
    """An int label, a digit string, or (for 1,000-class models) an ImageNet class name, case-insensitive; None stays
    None. The model's ``forget_label``/``override_label`` and the data module's linked copy are resolved here alike
    (``num_classes`` None: a prompt-conditioned model, which has no class names)."""
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if num_classes != 1000:
        raise ConfigError(
            field,
            f"class names are known for ImageNet (1,000 classes) only; give an index in [0, {(num_classes or 0) - 1}]",
        )
    names = [n.lower() for n in imagenet_class_names()]
    if text.lower() in names:
        return names.index(text.lower())
    close = difflib.get_close_matches(text.lower(), names, n=3)
    hint = f"; did you mean {', '.join(repr(imagenet_class_names()[names.index(c)]) for c in close)}?" if close else ""
    raise ConfigError(field, f"{text!r} is not an ImageNet class name{hint}")
