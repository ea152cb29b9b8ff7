"""The end-of-run report: a table of the headline metrics, printed and saved in the run folder."""

import json
import os
from typing import Dict, Optional

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_only

from sfd_lightning.callbacks.interrupt import interrupting_signal
from sfd_lightning.callbacks.periodic import PeriodicEvalCallback
from sfd_lightning.io.run_dir import run_dir
from sfd_lightning.metrics.curves import plot_metric_curves
from sfd_lightning.metrics.table import ROWS, format_report, table_rows  # noqa: F401 (ROWS: public here)
from sfd_lightning.models.unlearning_module import UnlearningModule, iteration_of


def merged_history(trainer: Trainer):
    """Every evaluation callback's (iteration, metrics), merged by iteration."""
    merged: Dict[int, Dict[str, float]] = {}
    for cb in trainer.callbacks:
        if isinstance(cb, PeriodicEvalCallback):
            for iteration, results in cb.history:
                merged.setdefault(iteration, {}).update(results)
    return sorted(merged.items())


class ReportCallback(Callback):
    """After training: print the metric table; write ``report.md``, ``report.json`` and ``metric_curves.png``
    to the run folder; give the logger (W&B) the table and a run summary."""

    def __init__(self, title: str = "SFD report"):
        """
        Args:
            title: heading printed above the table.
        """
        self.title = title
        self.metrics: Dict[str, float] = {}

    @rank_zero_only
    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._report(trainer, pl_module, None)

    @rank_zero_only
    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """``sfd validate``: the table of the loaded checkpoint (the metric callbacks before it have run)."""
        if trainer.state.fn == TrainerFn.VALIDATING:
            self._report(trainer, pl_module, None)

    @rank_zero_only
    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        """A run stopped by a signal reports what it measured so far, marked as interrupted."""
        name = interrupting_signal(exception)
        if name is not None:
            self._report(trainer, pl_module, name)

    def _report(self, trainer: Trainer, pl_module: LightningModule, interrupted_by: Optional[str]) -> None:
        self.metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1 and k != "step"}
        self.metrics["iterations"] = float(iteration_of(trainer, pl_module))
        status = f"{int(self.metrics['iterations'])} iterations"
        if interrupted_by is not None:
            self.metrics["interrupted"] = 1.0
            status = f"INTERRUPTED by {interrupted_by} at iteration {int(self.metrics['iterations'])}: incomplete"
        folder = run_dir(trainer)
        os.makedirs(folder, exist_ok=True)
        labels = pl_module.report_labels if isinstance(pl_module, UnlearningModule) else None
        table = format_report(self.metrics, labels)
        with open(os.path.join(folder, "report.md"), "w") as f:
            f.write(f"# {self.title} ({status})\n\n{table}\n")
        with open(os.path.join(folder, "report.json"), "w") as f:
            json.dump(self.metrics, f, indent=2, sort_keys=True)
        plot_metric_curves(merged_history(trainer), os.path.join(folder, "metric_curves.png"))
        self._to_logger(trainer, table_rows(self.metrics, labels))
        print(f"\n{self.title} ({status})\n{table}\noutputs: {folder}\n", flush=True)

    def _to_logger(self, trainer: Trainer, rows) -> None:
        logger = trainer.logger
        if logger is None:
            return
        summary = getattr(getattr(logger, "experiment", None), "summary", None)
        if summary is not None and hasattr(summary, "update"):  # W&B: the dashboard's run-table columns
            summary.update({f"final/{k}": v for k, v in self.metrics.items()})
        log_table = getattr(logger, "log_table", None)
        if callable(log_table):
            log_table(key="report", columns=["key", "metric", "value"], data=[list(r) for r in rows])
