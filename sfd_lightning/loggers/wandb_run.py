"""``sfd eval --wandb-run``: an evaluation's results added to the training run's W&B page (its summary),
whether that run is online or an offline run synced later."""

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

from sfd_lightning.errors import ConfigError, describe
from sfd_lightning.io.checkpoint import read_checkpoint
from sfd_lightning.io.source import Source
from sfd_lightning.loggers.wandb_logger import INIT_TIMEOUT, init_or_offline, wandb_offline, with_init_timeout


@dataclass
class RunRef:
    id: str
    project: Optional[str] = None
    entity: Optional[str] = None
    save_dir: Optional[str] = None  # where the run's offline files are (``<save_dir>/wandb``)


def find_run(spec: str) -> RunRef:
    """A W&B run from a run path (``entity/project/id``, ``project/id``, a ``.../runs/id`` URL) or from an SFD
    checkpoint, whose run folder is ``<save_dir>/<project>/<id>/checkpoints/*.ckpt`` (SFDWandbLogger's layout)."""
    if spec.endswith(".ckpt") or os.path.isfile(spec):
        run_id = read_checkpoint(Source(spec, "--wandb-run")).get("logger_version")
        if not run_id:
            raise ConfigError("--wandb-run", f"{spec} records no logger run (trained without W&B?)")
        path = Path(spec).resolve()
        if len(path.parents) < 4 or path.parents[1].name != str(run_id):
            raise ConfigError(
                "--wandb-run", f"{spec} is not in its run folder <save_dir>/<project>/{run_id}/checkpoints/"
            )
        return RunRef(str(run_id), project=path.parents[2].name, save_dir=str(path.parents[3]))
    parts = [p for p in spec.split("?")[0].split("/") if p and p not in ("https:", "wandb.ai")]
    if "runs" in parts:
        parts.remove("runs")
    if not 1 <= len(parts) <= 3:
        raise ConfigError(
            "--wandb-run", f"expected entity/project/run_id, project/run_id or a checkpoint, got {spec!r}"
        )
    entity, project, run_id = [None] * (3 - len(parts)) + parts
    return RunRef(run_id, project=project, entity=entity)


def add_to_run(ref: RunRef, results: Dict[str, object], prefix: str) -> str:
    """Numbers of ``results`` into the run's summary as ``<prefix><key>``; returns where it went."""
    import wandb

    init = dict(
        id=ref.id,
        project=ref.project,
        entity=ref.entity,
        dir=ref.save_dir,
        resume="allow",
        job_type="eval",
        mode="offline" if wandb_offline() else "online",
        settings=with_init_timeout(None, INIT_TIMEOUT),
    )
    run = init_or_offline(lambda extra: wandb.init(**{**init, **extra}), INIT_TIMEOUT)
    offline = run.settings.mode == "offline"
    run.summary.update(numbers_of(results, prefix))
    where = f"W&B run {ref.id}" + (
        f" (offline, under {run.dir}: `wandb sync` uploads it into the run)" if offline else ""
    )
    run.finish()
    return where


def numbers_of(results: Dict[str, object], prefix: str) -> Dict[str, float]:
    """The numbers among ``results`` (not flags, not text), keyed ``<prefix><key>``."""
    return {f"{prefix}{k}": v for k, v in results.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def report_to_run(ref: RunRef, results: Dict[str, object], prefix: str, saved: str) -> None:
    """:func:`add_to_run`, then one line saying where the numbers went. They are already saved in ``saved``, so a W&B
    failure is one line saying what the run did not receive, not an error: the command still succeeds."""
    try:
        where = add_to_run(ref, results, prefix)
    except Exception as err:  # noqa: BLE001  (any W&B failure: the results are safe on disk)
        print(
            f"W&B: run {ref.id} did not receive the {len(numbers_of(results, prefix))} numbers ({describe(err)}); "
            f"they are in {saved}",
            file=sys.stderr,
            flush=True,
        )
        return
    print(f"added to {where}")
