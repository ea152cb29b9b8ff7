"""How PyTorch's CPU threads wait: sleeping, not spinning, so a shared machine slows a run down gracefully.

PyTorch runs its CPU kernels on OpenMP threads (libgomp on Linux). By default a thread that reaches a
barrier first spins for a while before it sleeps. Alone on a machine that is fastest; but when another
process shares the cores, the spinning thread holds a core that the thread it waits for needs, and
every one of the thousands of barriers an iteration passes waits for the scheduler: the digits demo
went from 0.28 s an iteration alone to 6-14 s beside one other PyTorch process on two cores.

``sfd`` therefore sets ``OMP_WAIT_POLICY=PASSIVE`` (waiting threads sleep at once) unless you chose a
policy yourself: set ``OMP_WAIT_POLICY`` (``ACTIVE`` spins) or ``GOMP_SPINCOUNT`` (libgomp's default is
300000) to override it. The thread count and so the numbers computed are unchanged. OpenMP reads the
variable when torch loads it, so the command line (``sfd_lightning.cli``, which ``sfd`` and ``python -m
sfd_lightning`` run) sets it first, before its own imports load torch; importing ``sfd_lightning`` as a library
changes nothing, and a program that imported torch first keeps its policy. ``make bench-load`` measures both
policies.
"""

import os
from typing import MutableMapping

POLICY = "OMP_WAIT_POLICY"
SPIN_COUNT = "GOMP_SPINCOUNT"


def prefer_passive_wait(env: MutableMapping[str, str] = os.environ) -> None:
    """``OMP_WAIT_POLICY=PASSIVE`` in ``env`` unless a wait policy or spin count is already chosen there."""
    if POLICY not in env and SPIN_COUNT not in env:
        env[POLICY] = "PASSIVE"
