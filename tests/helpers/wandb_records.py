"""Read an offline W&B run's transaction log (``run-<id>.wandb``) back into protobuf records.

wandb writes its offline runs as a LevelDB-style log (a 7-byte ``:W&B`` file header, then 32 KiB
blocks of chunks with a 7-byte header: crc32, length, type) of ``wandb_internal_pb2.Record``
messages. wandb 0.31 no longer ships a Python reader (its Go core reads them), so the tests use
this one to check what a run logged without syncing it anywhere.
"""
import struct
from pathlib import Path
from typing import Iterator

from wandb.proto import wandb_internal_pb2

BLOCK = 32768
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(path: Path) -> Iterator[wandb_internal_pb2.Record]:
    data = Path(path).read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path}: not a W&B transaction log")
    pos, pending = HEADER, b""
    while pos + HEADER <= len(data):
        room = BLOCK - pos % BLOCK
        if room < HEADER:  # block trailer padding
            pos += room
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + HEADER])
        chunk = data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        if kind == 0 and length == 0:
            continue
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record
            pending = b""
