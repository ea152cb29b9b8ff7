"""Export a trained network as a small asset file at the end of fit."""

from typing import Literal

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.asset import export_weights


class ExportWeightsCallback(Callback):
    """Write ``pl_module.export_state_dict()`` and its class_path config to ``path`` (atomically)."""

    def __init__(self, path: str, kind: Literal["denoiser", "classifier", "sfd"]):
        """
        Args:
            path: output file, e.g. ``assets/digits_teacher.pt``.
            kind: what the asset holds: ``denoiser`` (a teacher), ``classifier``, or ``sfd`` (a stage-1
                generator, EMA and fake score for two-stage SFD).
        """
        self.path, self.kind = path, kind

    @rank_zero_only
    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        config = pl_module.export_config()
        if not isinstance(config, dict) or "class_path" not in config:
            raise ConfigError(
                "trainer.callbacks",
                "ExportWeightsCallback needs a module configured with class_path (run it through `sfd fit`)",
            )
        export_weights(self.path, self.kind, config, pl_module.export_state_dict())
        rank_zero_info(f"exported {self.kind} weights to {self.path}")
