"""Memory guards: refuse a file whose parse would need more memory than the machine has free, with a
message, instead of letting the process be killed."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import LoadError

#: Share of the currently available memory one load may plan to use.
MEMORY_SHARE = 0.7


def available_memory() -> int | None:
    """Bytes of memory this process can still take now (Linux: MemAvailable; elsewhere the free physical
    pages via sysconf), or None if unknown. The one memory probe: loaders, checkpoints and the command
    line's refusals all ask it."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(p: Path, needed: int) -> None:
    """Raise LoadError when `needed` bytes is more than MEMORY_SHARE of the available memory."""
    free = available_memory()
    if free is not None and needed > MEMORY_SHARE * free:
        raise LoadError(
            p,
            f"reading this file needs about {needed / 1024**3:.1f} GiB of memory but only "
            f"{free / 1024**3:.1f} GiB is free",
        )
