"""``sfd sweep``: run a W&B sweep spec with W&B's agent, or locally when W&B cannot be reached."""

from sfd_lightning.sweep.spec import SweepSpec, load_spec

__all__ = ["SweepSpec", "load_spec"]
