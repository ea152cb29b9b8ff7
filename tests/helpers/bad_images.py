"""Files in an image folder that are not readable images, as users' folders hold them: a text file with an image's
name, an empty PNG, a broken symbolic link, and PNG headers claiming more pixels than PIL's decompression-bomb limit
(the error level, twice ``Image.MAX_IMAGE_PIXELS``, and the warning level between one and two times it)."""

import struct
import zlib
from pathlib import Path

BAD_KINDS = ("text", "empty", "broken link", "bomb", "bomb warning")


def _png_header(width: int, height: int) -> bytes:
    """A PNG of its signature, an IHDR chunk claiming ``width`` x ``height`` RGB pixels and IEND: no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IEND", b"")
    )


def write_bad_image(folder: Path, kind: str) -> Path:
    """One bad file of ``kind`` (one of :data:`BAD_KINDS`) in ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "text":
        path = folder / "b.jpg"
        path.write_text("this is text, not a JPEG\n")
    elif kind == "empty":
        path = folder / "c.png"
        path.write_bytes(b"")
    elif kind == "broken link":
        path = folder / "e.jpg"
        path.symlink_to(folder / "gone.jpg")
    elif kind == "bomb":
        path = folder / "f.png"
        path.write_bytes(_png_header(100_000, 100_000))
    elif kind == "bomb warning":
        path = folder / "g.png"
        path.write_bytes(_png_header(10_000, 10_000))  # 1e8 pixels: over MAX_IMAGE_PIXELS (~8.9e7), under twice it
    else:
        raise ValueError(f"unknown kind {kind!r}; one of {BAD_KINDS}")
    return path
