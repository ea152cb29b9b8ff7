"""The child processes a command starts (``sfd fit`` runs of a sweep, methods of ``sfd compare --parallel``, W&B
agents), owned by it: each runs in its own process group, dies with this process (Linux: the parent-death signal,
so a ``kill -9`` of the parent leaves no orphan), and is stopped with it: inside :meth:`Children.stopped_on_signal`,
SIGTERM or SIGINT goes on to every child (its group: what it started too), this process raises :class:`Interrupted`
where it is, and leaving the block waits a bounded time for the children to end, then kills them. A second signal
while waiting kills them at once.
"""

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, List, Optional

GRACE_SECONDS = 60.0  # how long stopped children may take (a fit saves its checkpoint) before they are killed
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
PR_SET_PDEATHSIG = 1  # linux/prctl.h
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None  # resolved before any fork


class Interrupted(Exception):
    """This process was sent SIGTERM or SIGINT (and passed it on to its children)."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")

    @property
    def status(self) -> int:
        """The shell's exit status for the signal: 143 for SIGTERM, 130 for SIGINT."""
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def _die_with(parent: int) -> Callable[[], None]:
    """What the child runs before its program: ask for SIGTERM when the parent dies (and exit if it is gone)."""

    def preexec() -> None:
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before the request took effect
                os._exit(128 + signal.SIGTERM)

    return preexec


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)  # the child leads its own group (start_new_session)
    except (ProcessLookupError, PermissionError):
        pass


class Children:
    """This process's children (one instance, :data:`children`: a process has one set of children)."""

    def __init__(self) -> None:
        self.live: List[subprocess.Popen] = []
        self._signalled: set = set()  # pids already sent the stop signal
        self._starting = False  # between fork and registration: a signal then is raised afterwards
        self._pending: Optional[int] = None
        self._stopping = False
        self._kill_now = False

    def start(self, argv: List[str], **popen_kwargs) -> subprocess.Popen:
        """``subprocess.Popen(argv, **popen_kwargs)`` as an owned child."""
        self.live = [p for p in self.live if p.poll() is None]
        self._starting = True
        try:
            process = subprocess.Popen(argv, start_new_session=True, preexec_fn=_die_with(os.getpid()), **popen_kwargs)
            self.live.append(process)
        finally:
            self._starting = False
        if self._pending is not None:  # the signal came while it started: it is stopped with the others
            signum, self._pending = self._pending, None
            self._forward(signum)
            raise Interrupted(signum)
        return process

    def run(self, argv: List[str], **popen_kwargs) -> int:
        """Start an owned child and wait for it; its exit status."""
        return self.start(argv, **popen_kwargs).wait()

    def _forward(self, signum: int) -> None:
        for process in self.live:
            if process.poll() is None and process.pid not in self._signalled:
                self._signalled.add(process.pid)
                _signal_group(process, signum)

    def _handler(self, signum: int, frame) -> None:
        if self._stopping:  # a second signal while waiting for the children: kill them now
            self._kill_now = True
            return
        self._forward(signum)
        if self._starting:
            self._pending = signum
            return
        raise Interrupted(signum)

    def stop(self, grace: float = GRACE_SECONDS, log: Callable[[str], None] = print) -> None:
        """Send SIGTERM to every running child not sent a signal yet, wait up to ``grace`` seconds for them all,
        then SIGKILL what is left (each child's whole group)."""
        running = [p for p in self.live if p.poll() is None]
        if not running:
            return
        self._stopping, self._kill_now = True, False
        try:
            self._forward(signal.SIGTERM)
            log(f"waiting up to {grace:.0f} s for {len(running)} child process(es) to end (a second Ctrl+C kills them)")
            deadline = time.monotonic() + grace
            while any(p.poll() is None for p in running) and time.monotonic() < deadline and not self._kill_now:
                time.sleep(0.05)
            for process in running:
                if process.poll() is None:
                    _signal_group(process, signal.SIGKILL)
                    process.wait()
        finally:
            self._stopping = False

    @contextmanager
    def stopped_on_signal(self, grace: float = GRACE_SECONDS, log: Callable[[str], None] = print) -> Iterator[None]:
        """Inside: SIGTERM/SIGINT are passed on to the children and raised here as :class:`Interrupted`. Leaving by
        any way stops the children still running (:meth:`stop`) before it goes on."""
        if threading.current_thread() is not threading.main_thread():  # only the main thread receives signals
            yield
            return
        previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
        for s in STOP_SIGNALS:
            signal.signal(s, self._handler)
        try:
            yield
        finally:  # by an exception (Interrupted among them), or done: no child outlives the block
            self.stop(grace, log)
            for s, handler in previous.items():
                signal.signal(s, handler)
            self._signalled.clear()


children = Children()
