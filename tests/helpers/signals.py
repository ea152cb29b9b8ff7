"""Sending the test process a signal once its stand-in child processes run, to test how a command stops them."""

import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable, List


def signal_once_running(
    pid_files: Callable[[], List[Path]], count: int, signum: int = signal.SIGTERM
) -> threading.Thread:
    """A thread that sends this process ``signum`` once ``count`` pid files exist, if a handler is in place to take
    it (else it kills those children instead, so the test fails rather than the whole test run)."""

    def send():
        deadline = time.monotonic() + 30
        while len(pid_files()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        if signal.getsignal(signum) in (signal.SIG_DFL, signal.default_int_handler):
            for path in pid_files():
                os.kill(int(path.read_text()), signal.SIGKILL)
        else:
            os.kill(os.getpid(), signum)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def running(pid: int) -> bool:
    """Whether process ``pid`` is alive (not gone, not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False
