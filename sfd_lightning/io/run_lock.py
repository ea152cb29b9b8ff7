"""One run per folder. A run without a logger writes straight into ``trainer.default_root_dir`` (config.yaml,
``checkpoints/``, report.json, grids), so a second run there would overwrite the first's files and leave a
mix: one run's ``last.ckpt`` beside another's report. Such a run may start only in a folder without another
run's files, or continue the run that is there. Logged runs already get folders of their own (CSV and
TensorBoard ``version_N``, W&B run ids), and resuming one reuses its own.
"""
import glob
import os
from typing import List, Optional

from lightning.fabric.plugins.environments import SLURMEnvironment

from sfd_lightning.errors import ConfigError


def run_files(folder: str) -> List[str]:
    """What of a run is already in ``folder``: its config, report and checkpoints (relative names)."""
    found = [name for name in ("config.yaml", "report.json") if os.path.isfile(os.path.join(folder, name))]
    found += sorted(os.path.relpath(p, folder) for p in glob.glob(os.path.join(folder, "checkpoints", "*.ckpt")))
    found += sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder, "hpc_ckpt_*.ckpt")))
    return found


def continues(folder: str, ckpt_path: Optional[str]) -> bool:
    """Whether ``--ckpt_path`` continues the run in ``folder``: a checkpoint inside it, or Lightning's ``last``,
    ``best`` and ``hpc`` (found there). Under SLURM without ``--ckpt_path``, Lightning resumes a requeued job from its
    ``hpc_ckpt_<n>.ckpt`` in the folder."""
    if ckpt_path is None:
        return SLURMEnvironment.detect() and bool(glob.glob(os.path.join(folder, "hpc_ckpt_*.ckpt")))
    if str(ckpt_path) in ("last", "best", "hpc"):
        return True
    folder, ckpt = os.path.realpath(folder), os.path.realpath(str(ckpt_path))
    return os.path.commonpath([folder, ckpt]) == folder


def check_run_folder(folder: str, ckpt_path: Optional[str], field: str = "trainer.default_root_dir") -> None:
    """Refuse, in one line naming ``field``, to start a new run where another run's files are."""
    found = run_files(folder)
    if found and not continues(folder, ckpt_path):
        last = os.path.join(folder, "checkpoints", "last.ckpt")
        raise ConfigError(field, f"{folder!r} already holds another run ({', '.join(found[:4])}); give a new folder "
                                 f"(--{field}=DIR), a logger (its runs get folders of their own), or continue that "
                                 f"run with --ckpt_path={last}")
