"""An SFD run's place in its release's lineage: the steps before it (a sequential step's release, or a two-stage
start's stage 1), checked against its teacher, and the step it adds to every checkpoint it writes
(``sfd_lineage``; ``sfd export`` copies it into the release)."""

import datetime
from typing import Any, Dict, List, Optional

from torch import nn

from sfd_lightning.data.prompts import PromptDataModule
from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting.lineage import check_teacher, config_hash, forget_record, step, teacher_fingerprint
from sfd_lightning.forgetting.release import CHECKPOINT_KEY, release_lineage, start_lineage

DATE_KEY = "sfd_step_date"


class RunLineage:
    """The steps before this run (``before``), where they were read (``path``, ``field``), and this run's date."""

    def __init__(self, before: List[Dict[str, Any]], path: Optional[str], field: str):
        self.before, self.path, self.field = before, path, field
        self.fingerprint = ""
        self.date = ""

    @classmethod
    def of(cls, previous: Optional[str], init_ckpt: Optional[str]) -> "RunLineage":
        """From ``model.previous`` (a release, whose lineage is required) or ``model.init_ckpt`` (a stage 1, whose
        lineage, if any, forgot nothing); a fresh lineage otherwise."""
        if previous and init_ckpt:
            raise ConfigError(
                "model.previous",
                "give model.previous or model.init_ckpt, not both: a sequential step starts from its release",
            )
        if previous:
            return cls(release_lineage(previous, "model.previous"), previous, "model.previous")
        if init_ckpt:
            return cls(start_lineage(init_ckpt, "model.init_ckpt"), init_ckpt, "model.init_ckpt")
        return cls([], None, "")

    def check_teacher(self, teacher: nn.Module) -> None:
        """Fingerprint the loaded teacher; the steps before must have been made from it."""
        self.fingerprint = teacher_fingerprint(teacher)
        if self.before:
            check_teacher(self.before, self.fingerprint, repr(self.path), self.field)

    def step(self, forget: Dict[str, Any], settings: Any) -> Dict[str, Any]:
        """This run's step: what it forgot, its settings' hash, its date (the first checkpoint's) and its teacher."""
        self.date = self.date or datetime.date.today().isoformat()
        return step(forget, config_hash(settings), self.fingerprint, self.date)

    @staticmethod
    def prompt_request(data: Any) -> Dict[str, Any]:
        """A prompt run's request, from its data module: its concepts (``request``), or nudity; nothing recorded
        for data of another kind (a run built in Python with its own batches)."""
        if not isinstance(data, PromptDataModule):
            return {}
        return {"nudity": []} if data.mode == "nudity" else forget_record(concepts=data.request)

    def save(self, checkpoint: Dict[str, Any], this_step: Dict[str, Any]) -> None:
        checkpoint[CHECKPOINT_KEY] = [*self.before, this_step]
        checkpoint[DATE_KEY] = self.date

    def load(self, checkpoint: Dict[str, Any]) -> None:
        self.date = str(checkpoint.get(DATE_KEY) or self.date)
