"""A status line for the waits that have no steps to count (loading, extracting, rendering, measuring).

`with Waiting(quiet) as w: w.phase("extracting"); ...` shows nothing for the first second, then one
stderr line `extracting… 3.4 s` kept up to date twice a second until the block ends (then cleared), so that
no command waits more than a couple of seconds without saying what it is doing. $INRVIEW_STATUS_AFTER (seconds)
changes that first second; at 0 every phase shows its line as it begins (what the tests check, whatever the
machine's speed).
"""

from __future__ import annotations

import os
import sys
import threading
import time

#: The environment variable that sets how long a wait stays silent (seconds).
AFTER_ENV = "INRVIEW_STATUS_AFTER"


class Waiting:
    def __init__(self, quiet: bool = False, name: str = "", after: float = 1.0, file=None):
        self.quiet = quiet
        self.after = float(os.environ.get(AFTER_ENV, after))
        self.file = file or sys.stderr
        self.name = name
        self.t0 = time.perf_counter()
        self.phase_t0 = self.t0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._shown = False
        self._thread: threading.Thread | None = None

    def phase(self, name: str) -> None:
        """What the command is doing now (its seconds count from here)."""
        with self._lock:
            self.name = name
            self.phase_t0 = time.perf_counter()
        self._show_if_due()

    def _show_if_due(self) -> None:
        if not self.quiet and self.name and time.perf_counter() - self.t0 >= self.after:
            self._show()

    def __enter__(self) -> Waiting:
        self._show_if_due()
        if not self.quiet:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._show_if_due()

    def _show(self) -> None:
        with self._lock:
            text = f"{self.name}… {time.perf_counter() - self.phase_t0:.1f} s"
            self.file.write(f"\r{text:<60}")
            self.file.flush()
            self._shown = True

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._shown:
            self.file.write("\r" + " " * 60 + "\r")
            self.file.flush()
