"""A private Xvfb display for the tests, benchmarks and screenshot scripts (no Qt imported here).

The embedded VTK view needs a real X server (Qt's 'offscreen' platform cannot render it); Xvfb is one in
memory. `virtual_display()` starts one on a free display number and sets DISPLAY and QT_QPA_PLATFORM.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import time
from pathlib import Path


def _free_display(start: int = 91) -> int:
    for n in range(start, start + 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


def start_xvfb(size: str = "1920x1200x24") -> tuple[str, subprocess.Popen] | None:
    """Start Xvfb (24-bit, -noreset); returns (':N', process) or None when Xvfb is not installed."""
    exe = shutil.which("Xvfb")
    if exe is None:
        return None
    for _ in range(3):
        n = _free_display()
        proc = subprocess.Popen(
            [exe, f":{n}", "-screen", "0", size, "-noreset", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                return f":{n}", proc
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        stop(proc)
    return None


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def virtual_display(force: bool = False) -> subprocess.Popen | None:
    """Make sure there is an X display: start Xvfb when there is none (or always with force=True) and point
    DISPLAY and QT_QPA_PLATFORM=xcb at it. The server stops when this process exits."""
    if os.environ.get("DISPLAY") and not force:
        os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
        return None
    started = start_xvfb()
    if started is None:
        raise RuntimeError("no X display and no Xvfb: install xvfb (scripts/setup.sh does) or run under xvfb-run")
    display, proc = started
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    atexit.register(stop, proc)
    return proc
