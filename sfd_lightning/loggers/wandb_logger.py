"""Weights & Biases logging that works on a laptop, a cluster node without credentials, and in a sweep."""

import netrc
import os
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional
from urllib.parse import urlparse

from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only

from sfd_lightning.errors import ConfigError, describe

# Seconds to reach the W&B server before going offline; W&B's own default waits 90 s, then fails the run.
INIT_TIMEOUT = 15.0


def wandb_logged_in() -> bool:
    """An API key in ``WANDB_API_KEY`` or in the netrc entry of the W&B host (what ``wandb login`` writes)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def wandb_offline(offline: Optional[bool] = None) -> bool:
    """``offline`` if given; else offline when ``WANDB_MODE`` says so or nobody is logged in."""
    if offline is not None:
        return offline
    mode = os.environ.get("WANDB_MODE", "").lower()
    if mode in ("offline", "dryrun"):
        return True
    if mode == "disabled":
        return False  # wandb itself honours "disabled"
    return not wandb_logged_in()


def with_init_timeout(settings: Any, timeout: float) -> Any:
    """``wandb.init``'s ``settings`` (None or a dict) with ``init_timeout``; a ``wandb.Settings`` given is kept as it
    is."""
    if settings is None or isinstance(settings, Mapping):
        return {"init_timeout": timeout, **(settings or {})}
    return settings


def init_or_offline(start: Callable[[Dict[str, Any]], Any], timeout: float) -> Any:
    """``start(extra)`` a W&B run online (``extra`` empty); when the server cannot be reached in ``timeout`` seconds
    (no network on a cluster node), one line says so and where the run is kept, and ``start({"mode": "offline"})``
    runs it offline instead."""
    from wandb.errors import CommError

    try:
        return start({})
    except CommError as err:
        reason = describe(err, limit=160)
        release_failed_start()
        run = start({"mode": "offline"})
        folder = os.path.dirname(run.dir)  # run.dir is <run folder>/files
        print(
            f"W&B: cannot reach {os.environ.get('WANDB_BASE_URL', 'https://api.wandb.ai')} "
            f"within {timeout:g} s ({reason}); "
            f"logging offline to {folder} (upload it later with `wandb sync {folder}`)",
            file=sys.stderr,
            flush=True,
        )
        return run


def release_failed_start() -> None:
    """Free the run ID of a ``wandb.init`` that could not reach the server, so that the offline start can take it.

    wandb-core registers a run's stream under its ID before it contacts the server and keeps it when the start fails;
    a second start with that ID in the same service (the offline copy of a resumed run: ``sfd eval --wandb-run``,
    ``sfd fit --ckpt_path``) is then refused with "run ID ... is in use". Shutting the service down drops the stream
    (the next start launches a fresh one); it is left alone while another run of this process uses it."""
    import wandb

    if wandb.run is None:
        wandb.teardown()


# Metric families whose dashboards want the best and worst value as well as the last in the run summary.
SUMMARISED = ("loss/*", "forget/*", "retained/*", "fid/*", "clip/*")


def plot_against_iterations(run: Any) -> None:
    """Every metric's x-axis is ``iteration`` (the SFD iteration, not Lightning's optimiser-step count, which
    is two per iteration); losses and metrics keep min, max and last in the summary."""
    run.define_metric("iteration")
    run.define_metric("*", step_metric="iteration", step_sync=True, overwrite=True)
    for family in SUMMARISED:
        run.define_metric(family, step_metric="iteration", step_sync=True, summary="min,max,last", overwrite=True)


class SFDWandbLogger(WandbLogger):
    """Lightning's ``WandbLogger``, offline automatically when W&B cannot be reached, with every metric
    plotted against the SFD iteration.

    The run folder (report, grids, checkpoints, curves) is ``<save_dir>/<project>/<run id>``; the
    W&B run itself is under ``<save_dir>/wandb`` (``wandb sync`` uploads an offline one later).
    """

    def __init__(
        self,
        project: str = "sfd-lightning",
        name: Optional[str] = None,
        group: Optional[str] = None,
        tags: Optional[List[str]] = None,
        notes: Optional[str] = None,
        entity: Optional[str] = None,
        save_dir: Optional[str] = None,
        log_model: bool = False,
        offline: Optional[bool] = None,
        version: Optional[str] = None,
        init_timeout: float = INIT_TIMEOUT,
        **kwargs,
    ):
        """
        Args:
            project: W&B project; runs of one study share it.
            name: run name shown in the dashboard (default: W&B's generated name).
            group: group of runs (e.g. a sweep or an ablation) shown together.
            tags: tags to filter runs by.
            notes: free-text description of the run.
            entity: W&B team or user (default: yours).
            save_dir: folder for the W&B files and the run folder (default: ``trainer.default_root_dir`` under
                ``sfd fit``; ``runs`` elsewhere).
            log_model: upload checkpoints as artifacts: false, true (at the end) or "all" (every save); online only.
            offline: force offline (true) or online (false); default: offline when not logged in or WANDB_MODE=offline.
            version: W&B run id to continue (``sfd fit --ckpt_path`` fills it from the checkpoint).
            init_timeout: seconds to reach the W&B server when online; past them the run goes offline, with one line
                saying so and how to upload it later (``wandb sync``). Replaces W&B's 90 s and ``WANDB_INIT_TIMEOUT``.
            kwargs: any other option of Lightning's ``WandbLogger`` or of ``wandb.init`` (``prefix``, ``job_type``,
                ``mode``, ``resume``, ...), passed through.
        """
        if not init_timeout > 0:
            raise ConfigError(
                "logger.init_args.init_timeout", f"must be a positive number of seconds, got {init_timeout}"
            )
        self.init_timeout = init_timeout
        kwargs["settings"] = with_init_timeout(kwargs.get("settings"), init_timeout)
        is_offline = wandb_offline(offline)
        if is_offline and log_model:
            rank_zero_info("W&B is offline: checkpoints stay on disk instead of being uploaded as artifacts")
            log_model = False
        save_dir = save_dir or "runs"
        os.makedirs(save_dir, exist_ok=True)
        super().__init__(
            name=name,
            save_dir=save_dir,
            project=project,
            group=group,
            tags=tags,
            notes=notes,
            entity=entity,
            log_model=log_model,
            offline=is_offline,
            version=version,
            **kwargs,
        )

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The W&B run; created on first use, with ``iteration`` as every metric's x-axis."""
        fresh = self._experiment is None
        run = init_or_offline(self._start, self.init_timeout) if fresh else super().experiment
        if fresh and callable(getattr(run, "define_metric", None)):
            plot_against_iterations(run)
        return run

    def _start(self, extra: Dict[str, Any]) -> Any:
        """Lightning's run creation with ``extra`` ``wandb.init`` arguments (``mode="offline"``: the fallback)."""
        self._wandb_init.update(extra)
        run = super().experiment
        if extra.get("mode") == "offline":
            self._offline, self._log_model = (
                True,
                False,
            )  # after the start: Lightning's offline switch is an env var W&B now ignores
        return run

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: Optional[int] = None) -> None:
        """Every row carries ``iteration`` (= ``step``: the SFD modules log their iteration as the step)."""
        if step is not None and "iteration" not in metrics:
            metrics = dict(metrics, iteration=step)
        super().log_metrics(metrics, step)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Log pending checkpoint artifacts, then close the W&B run so its files are complete on disk.

        ``finished`` comes from Lightning's SLURM requeue handler while training goes on until the job
        stops: the run stays open then (a SIGTERM ends it as interrupted, a normal end as a success)."""
        super().finalize(status)
        if status == "finished":
            return
        if self._experiment is not None and hasattr(self._experiment, "finish"):
            self._experiment.finish(exit_code=0 if status == "success" else 1)
