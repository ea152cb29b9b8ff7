"""The CLI silences exactly the known-harmless library messages and nothing else."""

import logging
import warnings

from sfd_lightning.runtime.quiet import silence_known_noise

KNOWN = [
    "Using ModelCheckpoint with manual optimization and every_n_train_steps, but no pre-optimization state was saved.",
    "Found 160 module(s) in eval mode at the start of training. This may lead to unexpected behavior during training.",
    "`isinstance(treespec, LeafSpec)` is deprecated, "
    "use `isinstance(treespec, TreeSpec) and treespec.is_leaf()` instead.",
]


def test_known_warnings_are_silenced_and_others_stay():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        silence_known_noise()
        for message in KNOWN:
            warnings.warn(message, UserWarning)
        warnings.warn("Found a problem the user must see", UserWarning)
    assert [str(w.message) for w in caught] == ["Found a problem the user must see"]


def test_lightning_tips_are_dropped_and_other_info_kept(caplog):
    silence_known_noise()
    from lightning.pytorch.utilities.rank_zero import rank_zero_info

    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    with caplog.at_level(logging.INFO, logger=logger.name):
        rank_zero_info("💡 Tip: For seamless cloud logging, try installing litlogger")
        rank_zero_info("GPU available: False, used: False")
    assert [r.getMessage() for r in caplog.records] == ["GPU available: False, used: False"]
