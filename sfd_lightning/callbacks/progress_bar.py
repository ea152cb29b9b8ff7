"""The terminal's progress bar: Lightning's rich bar with every loss and learning rate in full."""

from typing import Dict

from lightning.pytorch.callbacks import RichProgressBar
from lightning.pytorch.callbacks.progress.rich_progress import RichProgressBarTheme

from sfd_lightning.callbacks.progress_lines import format_metric


class SFDProgressBar(RichProgressBar):
    """One metric a line under the bar (names in full, never cut to ``loss/fake_score_r…``), learning rates
    in scientific notation (``lr/generator: 1.00e-05``, not ``0.000``). ``sfd fit`` uses it unless the
    config chooses another bar or ``trainer.enable_progress_bar: false``."""

    def __init__(self, refresh_rate: int = 1, leave: bool = False):
        """
        Args:
            refresh_rate: redraw every this many iterations.
            leave: keep the finished bar on screen.
        """
        super().__init__(
            refresh_rate=refresh_rate, leave=leave, theme=RichProgressBarTheme(metrics_text_delimiter="\n")
        )

    def get_metrics(self, trainer, pl_module) -> Dict[str, str]:
        items = super().get_metrics(trainer, pl_module)
        items.pop("v_num", None)
        return {k: format_metric(k, v) if isinstance(v, (int, float)) else v for k, v in items.items()}
