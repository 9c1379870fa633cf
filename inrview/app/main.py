"""`inrview [FILE] [options]`: open the desktop app, optionally as a scripted run (`run(options)`).

    inrview                                  the bundled demo shape
    inrview spot.obj                         open a mesh, point cloud or checkpoint
    inrview spot.obj --fit-seconds 30 --screenshot s.png --quit
                                             train 30 s with the live view, save the view as PNG, exit 0
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .image import IMAGE_SUFFIXES

EPILOG = """scripted runs: --fit-seconds trains for that many seconds of training time as soon as the file
is open (the live view updates as usual); --screenshot saves the viewport once training has finished (or once
the file is open); --quit then exits with status 0, or 2 with one line on stderr if anything failed."""


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise argparse.ArgumentTypeError("width and height must be between 16 and 8192")
    return w, h


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="inrview", epilog=EPILOG,
                                description="Open the inrview window (subcommands: fit, extract, info, ...; "
                                            "see `inrview --help`).")
    p.add_argument("file", nargs="?", help="mesh, point cloud, checkpoint or picture to open (default: the demo shape)")
    p.add_argument("--fit-seconds", type=float, metavar="S", help="train for S seconds once the file is open")
    p.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the viewport when done")
    p.add_argument("--screenshot-size", type=_size, metavar="WxH", help="screenshot size (default: the view's)")
    p.add_argument("--transparent", action="store_true", help="transparent screenshot background")
    p.add_argument("--window-screenshot", metavar="PNG", help="also save a picture of the whole window when done")
    p.add_argument("--quit", action="store_true", help="exit when the scripted run is done")
    p.add_argument("--size", type=_size, metavar="WxH", help="window size")
    p.add_argument("--model", choices=["grid", "siren", "relu", "fourier"], help="network family for this run")
    p.add_argument("--settings", metavar="INI", help="settings file to use (default: the user's)")
    p.add_argument("--no-restore", action="store_true", help="ignore saved window layout and settings")
    return p


def _check_display() -> str | None:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY"):
        # the embedded VTK view renders through GLX: use X11 (also under XWayland)
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        return None
    if os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display: run inrview in a desktop session or under xvfb-run "
            "(for headless fitting use `inrview fit FILE -o OUT.ply`)")


def main(argv: list[str] | None = None) -> int:
    """`inrview [FILE] [options]`: parse the app's options and run it."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return run(build_parser().parse_args(argv))


def _problem(options) -> str | None:
    """Why these options cannot run the window (None when they can)."""
    if options.fit_seconds is not None and not (0 < options.fit_seconds < 1e7):
        return "--fit-seconds must be a positive number"
    if options.file and not Path(options.file).exists():
        return f"{options.file}: file not found"
    if scripted(options) and options.file and Path(options.file).suffix.lower() in IMAGE_SUFFIXES:
        return (f"{options.file}: scripted runs of the window are for shapes; for pictures use "
                "`inrview image ...`")
    return _check_display()


def scripted(options) -> bool:
    return bool(options.fit_seconds or options.screenshot or options.window_screenshot or options.quit)


def run(options) -> int:
    """Open the window for the parsed options (file, fit_seconds, screenshot, screenshot_size, transparent,
    window_screenshot, quit, size, model, settings, no_restore); returns the exit status."""
    problem = _problem(options)
    if problem:
        print(f"inrview: error: {problem}", file=sys.stderr)
        return 2
    from .common.memory import limit_arenas

    limit_arenas()  # before any thread starts: keeps the resident size flat over long sessions
    import torch

    torch.set_num_threads(1)  # the GUI draws on the other core (DESIGN.md: one training thread on 2 cores)

    from PyQt6 import QtCore, QtWidgets

    import inrview

    from . import make_window
    from .scripted import ScriptedRun

    win = make_window(options.settings, restore=not options.no_restore, size=options.size)
    if options.model:
        panel = win.shape.model_panel
        panel.kind.setCurrentIndex(panel.kind.findData(options.model))
    win.show()
    script = ScriptedRun(win, options) if scripted(options) else None
    path = options.file or inrview.demo_shape()
    QtCore.QTimer.singleShot(0, lambda: win.open_path(path))
    code = QtWidgets.QApplication.instance().exec()
    return script.exit_code if script is not None and script.exit_code else code
