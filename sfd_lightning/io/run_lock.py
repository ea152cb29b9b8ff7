"""One run per folder. A run without a logger writes straight into ``trainer.default_root_dir`` (config.yaml,
``checkpoints/``, report.json, grids), so a second run there would overwrite the first's files and leave a
mix: one run's ``last.ckpt`` beside another's report. Such a run may start only in a folder without another
run's files, or continue the run that is there. Logged runs already get folders of their own (CSV and
TensorBoard ``version_N``, W&B run ids), and resuming one reuses its own.

Two runs started at once would both find the folder empty, so the check holds a claim first: an exclusive lock on
``<folder>/.sfd-run.lock``, which one process wins. The system drops the lock when its process ends, however it
ends, so a SIGKILL-ed run's folder can be resumed at once.
"""

import fcntl
import glob
import os
import socket
from typing import List, Optional

from lightning.fabric.plugins.environments import SLURMEnvironment

from sfd_lightning.errors import ConfigError, describe
from sfd_lightning.io.out_guard import holds, real

CLAIM = ".sfd-run.lock"


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
    return holds(real(folder), real(str(ckpt_path)))


def check_run_folder(folder: str, ckpt_path: Optional[str], field: str = "trainer.default_root_dir") -> None:
    """Refuse, in one line naming ``field``, to start a new run where another run's files are."""
    found = run_files(folder)
    if found and not continues(folder, ckpt_path):
        last = os.path.join(folder, "checkpoints", "last.ckpt")
        raise ConfigError(
            field,
            f"{folder!r} already holds another run ({', '.join(found[:4])}); give a new folder "
            f"(--{field}=DIR), a logger (its runs get folders of their own), or continue that "
            f"run with --ckpt_path={last}",
        )


def is_rank_zero() -> bool:
    """Whether every rank this process's launcher sets is 0 (torchrun's RANK and GROUP_RANK, Lightning's LOCAL_RANK
    and NODE_RANK, SLURM_PROCID): the one process of a run that claims its folder (the others write nothing there)."""
    names = ("RANK", "GROUP_RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID")
    return all(os.environ.get(name, "0").strip() in ("", "0") for name in names)


class RunClaim:
    """This process's hold on a run folder: an open, exclusively locked claim file."""

    def __init__(self, folder: str, fd: int, made_folder: bool):
        self.folder, self.fd, self.made_folder = folder, fd, made_folder

    def release(self) -> None:
        """Give the folder up: the claim file removed while still locked (a run waiting on it then claims a new one),
        the lock dropped, and the folder too if the claim made it and nothing was written into it."""
        if self.fd is None:
            return
        try:
            os.unlink(os.path.join(self.folder, CLAIM))
        except FileNotFoundError:
            pass
        os.close(self.fd)
        self.fd = None
        if self.made_folder:
            try:
                os.rmdir(self.folder)
            except OSError:
                pass  # the run wrote into it


def locked_claim_file(folder: str) -> Optional[int]:
    """An open descriptor holding the exclusive lock on ``folder``'s claim file; None while another process holds it."""
    path = os.path.join(folder, CLAIM)
    while True:
        os.makedirs(folder, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            continue  # the folder was removed by a claim released just now
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the holder released and removed this file between the open and the lock: claim afresh


def claim_holder(folder: str) -> str:
    """Who holds ``folder``'s claim, as its file says (``pid N on HOST``)."""
    try:
        with open(os.path.join(folder, CLAIM)) as f:
            return f.read().strip() or "starting"
    except OSError:
        return "unknown"


def claim_run_folder(folder: str, ckpt_path: Optional[str], field: str = "trainer.default_root_dir") -> RunClaim:
    """Claim ``folder`` for this run, atomically, until :meth:`RunClaim.release` or the end of the process; refused
    in one line naming ``field`` while another run holds it (of two runs started at once, one wins) or where another
    run's files are (:func:`check_run_folder`)."""
    made = not os.path.isdir(folder)
    try:
        fd = locked_claim_file(folder)
    except OSError as err:
        raise ConfigError(field, f"cannot claim {folder!r} for the run: {describe(err)}") from None
    if fd is None:
        raise ConfigError(
            field,
            f"{folder!r} is in use by another run ({claim_holder(folder)}); give this run a folder "
            f"of its own (--{field}=DIR) or a logger, or wait until that run ends",
        )
    os.ftruncate(fd, 0)  # a killed run's line
    os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
    claim = RunClaim(folder, fd, made)
    try:
        check_run_folder(folder, ckpt_path, field)
    except ConfigError:
        claim.release()
        raise
    return claim
