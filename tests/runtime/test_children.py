"""Child processes are owned: a signal to the parent reaches them, the parent waits a bounded time and kills what is
left, and a parent killed outright takes them with it. Real processes, sleeping stand-ins for ``sfd fit``."""

import os
import signal
import subprocess
import sys
import time

import pytest
from project import ROOT

CHILD = """
import signal, sys, time
for signum in (signal.SIGTERM, signal.SIGINT):  # as sfd fit: either stops it gracefully
    if sys.argv[2] == "ignore":
        signal.signal(signum, signal.SIG_IGN)
    else:
        signal.signal(signum, lambda *a: (open(sys.argv[1] + ".stopped", "w").close(), sys.exit(143)))
open(sys.argv[1] + ".started", "w").close()
time.sleep(60)
"""

PARENT = """
import sys, time
from sfd_lightning.runtime.children import Interrupted, children
folder, mode, grace = sys.argv[1], sys.argv[2], float(sys.argv[3])
try:
    with children.stopped_on_signal(grace=grace):
        started = [children.start([sys.executable, folder + "/child.py", f"{folder}/c{i}", mode]) for i in range(2)]
        print(" ".join(str(p.pid) for p in started), flush=True)
        time.sleep(60)
except Interrupted as stop:
    print("returncodes", [p.returncode for p in started], flush=True)
    sys.exit(stop.status)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead
        return f.read().split(") ")[1][0] != "Z"


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def start_parent(tmp_path, mode: str, grace: float = 5.0):
    (tmp_path / "child.py").write_text(CHILD)
    (tmp_path / "parent.py").write_text(PARENT)
    parent = subprocess.Popen(
        [sys.executable, str(tmp_path / "parent.py"), str(tmp_path), mode, str(grace)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 2 and wait_for(lambda: all((tmp_path / f"c{i}.started").exists() for i in range(2)))
    return parent, pids


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups and /proc: Linux")


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_to_the_parent_stops_its_children_and_waits_for_them(tmp_path, signum, status):
    parent, pids = start_parent(tmp_path, "obey")
    parent.send_signal(signum)
    out, _ = parent.communicate(timeout=10)
    assert parent.returncode == status and "returncodes [143, 143]" in out  # both ended before the parent went on
    assert all((tmp_path / f"c{i}.stopped").exists() for i in range(2)) and not any(alive(p) for p in pids)


def test_children_that_ignore_the_signal_are_killed_after_the_grace(tmp_path):
    parent, pids = start_parent(tmp_path, "ignore", grace=0.5)
    start = time.monotonic()
    parent.send_signal(signal.SIGTERM)
    out, _ = parent.communicate(timeout=10)
    assert parent.returncode == 143 and f"returncodes [{-signal.SIGKILL}, {-signal.SIGKILL}]" in out
    assert time.monotonic() - start < 5 and not any(alive(p) for p in pids)


def test_children_die_with_a_parent_killed_outright(tmp_path):
    parent, pids = start_parent(tmp_path, "obey")
    parent.kill()  # SIGKILL: no handler runs; the kernel sends the children their parent-death signal
    parent.wait()
    assert wait_for(lambda: not any(alive(p) for p in pids))
    assert all((tmp_path / f"c{i}.stopped").exists() for i in range(2))  # they got SIGTERM, so a fit saves
