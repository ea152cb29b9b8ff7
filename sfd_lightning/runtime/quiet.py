"""Silence exactly the library messages every ``sfd`` run would print and that say nothing about it.

Each is harmless here, for a reason given beside it; every other warning stays visible.
"""

import logging
import warnings

KNOWN_HARMLESS_WARNINGS = (
    # SFDModule optimises manually; a checkpoint holds the state after an iteration's updates, as it should.
    r"Using ModelCheckpoint with manual optimization and every_n_train_steps",
    # the frozen teacher (and frozen judges) are in eval mode on purpose.
    r"Found \d+ module\(s\) in eval mode at the start of training",
    # Lightning's own use of a torch API that torch deprecated; nothing a user can change.
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    # sfd's data modules give no validation batches while fitting (only `sfd validate` has one).
    r"Total length of `list` across ranks is zero",
)


class _DropTips(logging.Filter):
    """Lightning's advertisements for its hosted services (litlogger, litmodels)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith("💡 Tip:")


def silence_known_noise() -> None:
    """Install the warning filters and the tip filter for this process."""
    for message in KNOWN_HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")  # where rank_zero_info logs
    if not any(isinstance(f, _DropTips) for f in logger.filters):
        logger.addFilter(_DropTips())
