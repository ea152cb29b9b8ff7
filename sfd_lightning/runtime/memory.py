"""How much memory a command may still allocate, so that an impossible request is refused before it starts."""

import os
from typing import Optional


def available_bytes() -> Optional[int]:
    """Memory available to new allocations (Linux's MemAvailable, else free pages); None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the file counts kB
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
