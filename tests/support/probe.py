"""Measuring how responsive the GUI thread is (used by scripts.bench_ui and scripts.soak_app).

A QTimer asks to fire every `interval_ms`; whatever blocks the GUI thread (a render, a slot, a long Python
call) delays the next tick, so the lateness of each tick is how long the UI could not respond. The process's
resident memory and the viewport's actor count are sampled alongside for leak checks.
"""

from __future__ import annotations

import os
import time

import numpy as np
from PyQt6 import QtCore


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; falls back to ru_maxrss elsewhere)."""
    try:
        with open(f"/proc/{os.getpid()}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class LatencyProbe(QtCore.QObject):
    def __init__(self, interval_ms: int = 20, parent=None):
        super().__init__(parent)
        self.interval = interval_ms / 1000.0
        self.lateness: list[float] = []
        self._last = None
        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def reset(self) -> None:
        self.lateness.clear()
        self._last = time.perf_counter()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.lateness.append(max(0.0, now - self._last - self.interval))
        self._last = now

    def summary(self) -> dict:
        a = np.asarray(self.lateness) * 1000.0
        if a.size == 0:
            return {"ticks": 0}
        return {
            "ticks": int(a.size),
            "p50_ms": float(np.percentile(a, 50)),
            "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99)),
            "max_ms": float(a.max()),
            "over_100ms": int((a > 100).sum()),
        }
