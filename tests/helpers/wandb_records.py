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
        _, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        chunk = data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind == 0 and length == 0:
            continue
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record
            pending = b""


def run_summary(run_root: Path, run_id: str, wanted: str, timeout: float = 60.0) -> dict:
    """The summary of every offline log of ``run_id`` under ``<run_root>/wandb``, merged in order, once ``wanted`` is
    in it. wandb's service (a separate process) writes the log after ``run.finish()`` returns in the caller, so a
    loaded machine can read it before the last records land: read again until ``wanted`` appears or ``timeout``."""
    import json
    import time

    deadline = time.monotonic() + timeout
    while True:
        summary = {}
        for log in sorted(Path(run_root).glob(f"wandb/offline-run-*-{run_id}/run-{run_id}.wandb")):
            for record in read_records(log):
                if record.WhichOneof("record_type") == "summary":
                    summary.update({item.key: json.loads(item.value_json) for item in record.summary.update})
        if wanted in summary or time.monotonic() > deadline:
            return summary
        time.sleep(0.5)
