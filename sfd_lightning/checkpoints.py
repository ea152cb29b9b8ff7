"""The former home of ``AtomicCheckpointIO``, now ``sfd_lightning.io.AtomicCheckpointIO``: run configs written
before the move name ``sfd_lightning.checkpoints.AtomicCheckpointIO`` in ``trainer.plugins`` (listed in
``sfd_lightning.compat``)."""

from sfd_lightning.io.atomic import AtomicCheckpointIO

__all__ = ["AtomicCheckpointIO"]
