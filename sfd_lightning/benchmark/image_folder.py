"""A suite's images of one model as numbered PNG files (``00000.png``, ...), the form the field's judges read and
users look at. A ``manifest.json`` records what drew them; a benchmark run again on the same folder draws only
the images missing (an interrupted run resumes), and refuses a folder drawn with other settings."""

import io
import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from PIL import Image

from sfd_lightning.errors import ConfigError, describe
from sfd_lightning.io.atomic import atomic_write
from sfd_lightning.io.images import read_uint8
from sfd_lightning.metrics.features import to_uint8_rgb

MANIFEST = "manifest.json"


def png_path(folder: str, i: int) -> str:
    return os.path.join(folder, f"{i:05d}.png")


def _recorded(folder: str) -> Tuple[Optional[Dict[str, Any]], str]:
    """(the folder's manifest or None, why it cannot be used as it is: '' if it can)."""
    path = os.path.join(folder, MANIFEST)
    pngs = os.path.isdir(folder) and any(name.endswith(".png") for name in os.listdir(folder))
    if not os.path.lexists(path):
        return None, "images but no manifest.json saying what drew them" if pngs else ""
    try:
        with open(path, encoding="utf-8") as f:
            there = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as err:  # JSONDecodeError is a ValueError
        return None, f"a manifest.json that cannot be read ({describe(err)})"
    return (there, "") if isinstance(there, dict) else (None, "a manifest.json that is not a JSON object")


def check_folder(folder: str, manifest: Dict[str, Any], overwrite: bool) -> bool:
    """Whether ``folder`` holds images drawn with other settings than ``manifest`` records (to be drawn again); without
    ``overwrite`` that is a ConfigError naming ``--out`` and what differs. Reads only: every folder of a benchmark is
    checked before any is prepared or drawn."""
    there, problem = _recorded(folder)
    if there is not None and there != manifest:
        changed = sorted(k for k in set(there) | set(manifest) if there.get(k) != manifest.get(k))
        problem = f"images drawn with other settings ({', '.join(changed)})"
    if problem and not overwrite:
        raise ConfigError("--out", f"{folder!r} holds {problem}; give a new --out, or --overwrite to draw them again")
    return bool(problem)


def prepare(folder: str, manifest: Dict[str, Any], overwrite: bool) -> None:
    """Make ``folder`` ready for the images ``manifest`` describes: kept if drawn with the same, emptied with
    ``overwrite``, else refused (naming ``--out``) before anything is sampled."""
    if check_folder(folder, manifest, overwrite):
        for name in os.listdir(folder):
            if name.endswith(".png"):
                os.remove(os.path.join(folder, name))
    os.makedirs(folder, exist_ok=True)
    atomic_write(os.path.join(folder, MANIFEST), lambda f: f.write(json.dumps(manifest, indent=2).encode()), "--out")


def missing(folder: str, n: int) -> List[int]:
    """The indices of the images not yet drawn."""
    return [i for i in range(n) if not os.path.isfile(png_path(folder, i))]


def write_png(folder: str, i: int, image: torch.Tensor) -> None:
    """Image ``i`` (C, H, W) in [-1, 1] as 8-bit PNG, written atomically (a killed run leaves no half file)."""
    pixels = to_uint8_rgb(image.detach()[None])[0].cpu()  # (3, H, W)
    buffer = io.BytesIO()
    Image.fromarray(pixels.permute(1, 2, 0).numpy()).save(buffer, format="PNG")
    atomic_write(png_path(folder, i), lambda f: f.write(buffer.getvalue()), "--out")


def read_pngs(folder: str, indices: Sequence[int]) -> torch.Tensor:
    """Images ``indices`` as uint8 (B, 3, H, W); a file there that is no longer one of ours (unreadable, another
    size) is a ConfigError on ``--out``."""
    return (
        torch.from_numpy(read_uint8([png_path(folder, i) for i in indices], "--out")).permute(0, 3, 1, 2).contiguous()
    )


def as_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images as the judges' float in [-1, 1]."""
    return images.float() / 127.5 - 1
