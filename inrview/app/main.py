"""`inrview [FILE] [options]`: open the desktop app, optionally as a scripted run.

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
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.fit_seconds is not None and not (0 < args.fit_seconds < 1e7):
        print("inrview: error: --fit-seconds must be a positive number", file=sys.stderr)
        return 2
    if args.file and not Path(args.file).exists():
        print(f"inrview: error: {args.file}: file not found", file=sys.stderr)
        return 2
    scripted = bool(args.fit_seconds or args.screenshot or args.window_screenshot or args.quit)
    if scripted and args.file and Path(args.file).suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"):
        print(f"inrview: error: {args.file}: scripted runs of the window are for shapes; for pictures use "
              "`inrview image ...`", file=sys.stderr)
        return 2
    problem = _check_display()
    if problem:
        print(f"inrview: error: {problem}", file=sys.stderr)
        return 2
    from .memory import limit_arenas

    limit_arenas()  # before any thread starts: keeps the resident size flat over long sessions
    import torch

    torch.set_num_threads(1)  # the GUI draws on the other core (DESIGN.md: one training thread on 2 cores)

    from PyQt6 import QtCore, QtWidgets

    import inrview

    from .scripted import ScriptedRun
    from .settings import Settings
    from .theme import apply_theme
    from .window import MainWindow

    QtCore.QCoreApplication.setOrganizationName("inrview")
    QtCore.QCoreApplication.setApplicationName("inrview")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["inrview"])
    apply_theme(app)
    win = MainWindow(Settings(args.settings), restore=not args.no_restore)
    if args.size:
        win.resize(*args.size)
    if args.model:
        i = win.model_panel.kind.findData(args.model)
        win.model_panel.kind.setCurrentIndex(i)
    win.show()
    run = ScriptedRun(win, args) if scripted else None
    path = args.file or inrview.demo_shape()
    QtCore.QTimer.singleShot(0, lambda: win.open_path(path))
    code = app.exec()
    return run.exit_code if run is not None and run.exit_code else code
