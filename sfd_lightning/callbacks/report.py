"""The end-of-run report: a table of the headline metrics, printed and saved in the run folder."""
import json
import os
from typing import Dict, List, Optional, Tuple

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_only

from sfd_lightning.callbacks.curves import plot_metric_curves
from sfd_lightning.callbacks.interrupt import interrupting_signal
from sfd_lightning.callbacks.periodic import PeriodicEvalCallback
from sfd_lightning.callbacks.run_dir import run_dir

ROWS: List[Tuple[str, str, str]] = [
    ("forget/accuracy", "forget-class accuracy (lower is better)", "{:.2%}"),
    ("forget/ua", "unlearning accuracy UA = 1 - forget accuracy", "{:.2%}"),
    ("forget/override_rate", "forget samples classified as the override", "{:.2%}"),
    ("retained/accuracy", "retained-class accuracy", "{:.2%}"),
    ("fid/generator", "FID retained classes, one-step EMA generator", "{:.3f}"),
    ("fid/teacher", "FID retained classes, teacher sampler", "{:.3f}"),
    ("fid/ratio", "FID ratio generator / teacher", "{:.3f}"),
    ("clip/forget_vs_concept", "CLIP score, forget samples vs the concept prompt", "{:.2f}"),
    ("clip/forget_vs_override", "CLIP score, forget samples vs the override prompt", "{:.2f}"),
    ("clip/retained", "CLIP score, retained prompts", "{:.2f}"),
    ("forget/detected", "forget samples flagged by the concept detector", "{:.2%}"),
    ("speed/generator_images_per_s", "images/s one-step generator", "{:,.0f}"),
    ("speed/teacher_images_per_s", "images/s teacher sampler", "{:,.1f}"),
    ("speed/speedup", "sampling speed-up per image", "{:.1f}x"),
]


def table_rows(metrics: Dict[str, float]) -> List[Tuple[str, str, float]]:
    """(key, label, value) of the report's rows that the metrics hold."""
    return [(key, label, metrics[key]) for key, label, _ in ROWS if key in metrics]


def format_value(metrics: Dict[str, float], key: str, fmt: str) -> str:
    """The value of ``key``, with its spread over noise seeds (``key_spread``) as +- when there is one."""
    text = fmt.format(metrics[key])
    spread = metrics.get(f"{key}_spread")
    return text if spread is None else f"{text} ± {fmt.format(spread)}"


def format_report(metrics: Dict[str, float]) -> str:
    lines = [f"| {'metric':<46} | {'value':>16} |", f"|{'-' * 48}|{'-' * 18}|"]
    for key, label, fmt in ROWS:
        if key in metrics:
            lines.append(f"| {label:<46} | {format_value(metrics, key, fmt):>16} |")
    return "\n".join(lines)


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
        self.metrics["iterations"] = float(getattr(pl_module, "iteration", trainer.global_step))
        status = f"{int(self.metrics['iterations'])} iterations"
        if interrupted_by is not None:
            self.metrics["interrupted"] = 1.0
            status = f"INTERRUPTED by {interrupted_by} at iteration {int(self.metrics['iterations'])}: incomplete"
        folder = run_dir(trainer)
        os.makedirs(folder, exist_ok=True)
        table = format_report(self.metrics)
        with open(os.path.join(folder, "report.md"), "w") as f:
            f.write(f"# {self.title} ({status})\n\n{table}\n")
        with open(os.path.join(folder, "report.json"), "w") as f:
            json.dump(self.metrics, f, indent=2, sort_keys=True)
        plot_metric_curves(merged_history(trainer), os.path.join(folder, "metric_curves.png"))
        self._to_logger(trainer, table_rows(self.metrics))
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
