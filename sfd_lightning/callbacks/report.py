"""The end-of-run report: a table of the headline metrics, printed and saved in the run folder."""
import json
import os
from typing import Dict, List, Tuple

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_only

from sfd_lightning.callbacks.image_grid import run_dir

ROWS: List[Tuple[str, str, str]] = [
    ("forget/accuracy", "forget-class accuracy (lower is better)", "{:.2%}"),
    ("forget/ua", "unlearning accuracy UA = 1 - forget accuracy", "{:.2%}"),
    ("forget/override_rate", "forget samples classified as the override", "{:.2%}"),
    ("retained/accuracy", "retained-class accuracy", "{:.2%}"),
    ("fid/generator", "FID retained classes, one-step EMA generator", "{:.3f}"),
    ("fid/teacher", "FID retained classes, teacher sampler", "{:.3f}"),
    ("fid/ratio", "FID ratio generator / teacher", "{:.3f}"),
    ("speed/generator_images_per_s", "images/s one-step generator", "{:,.0f}"),
    ("speed/teacher_images_per_s", "images/s teacher sampler", "{:,.1f}"),
    ("speed/speedup", "sampling speed-up per image", "{:.1f}x"),
]


def format_report(metrics: Dict[str, float]) -> str:
    lines = [f"| {'metric':<46} | {'value':>12} |", f"|{'-' * 48}|{'-' * 14}|"]
    for key, label, fmt in ROWS:
        if key in metrics:
            lines.append(f"| {label:<46} | {fmt.format(metrics[key]):>12} |")
    return "\n".join(lines)


class ReportCallback(Callback):
    """After training, print the metric table and write ``report.md`` and ``report.json`` to the run folder."""

    def __init__(self, title: str = "SFD report"):
        """
        Args:
            title: heading printed above the table.
        """
        self.title = title
        self.metrics: Dict[str, float] = {}

    @rank_zero_only
    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        self.metrics["iterations"] = float(getattr(pl_module, "iteration", trainer.global_step))
        folder = run_dir(trainer)
        os.makedirs(folder, exist_ok=True)
        table = format_report(self.metrics)
        with open(os.path.join(folder, "report.md"), "w") as f:
            f.write(f"# {self.title}\n\n{table}\n")
        with open(os.path.join(folder, "report.json"), "w") as f:
            json.dump(self.metrics, f, indent=2, sort_keys=True)
        print(f"\n{self.title} ({int(self.metrics['iterations'])} iterations)\n{table}\noutputs: {folder}\n", flush=True)
