"""Start the desktop app from options the command line has parsed and checked (inrview.cli.app)."""

from __future__ import annotations

import os
import sys


def _check_display() -> str | None:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY"):
        # the embedded VTK view renders through GLX: use X11 (also under XWayland)
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        return None
    if os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "no display: run inrview in a desktop session or under xvfb-run "
        "(for headless fitting use `inrview fit FILE -o OUT.ply`)"
    )


def run(args) -> int:
    """Open the window as `args` asks (the namespace of inrview.cli.app: file, fit_seconds, screenshot, quit,
    window_size, model, settings, no_restore, scripted, ...); returns the exit status."""
    problem = _check_display()
    if problem:
        print(f"inrview: error: {problem}", file=sys.stderr)
        return 2
    from .common.memory import limit_arenas

    limit_arenas()  # before any thread starts: keeps the resident size flat over long sessions
    import torch

    torch.set_num_threads(1)  # the GUI draws on the other core (DESIGN.md: one training thread on 2 cores)

    from PyQt6 import QtCore, QtWidgets

    from ..io.resources import demo_shape
    from . import make_window
    from .run_settings import ForThisRun, throwaway_copy
    from .scripted import ScriptedRun

    with throwaway_copy(bool(args.quit), args.settings) as copy:
        # a run that quits by itself reads the user's settings but writes only to a copy of them
        win = make_window(copy or args.settings, restore=not args.no_restore, size=args.window_size)
        this_run = ForThisRun(win) if args.model or args.fit_steps or args.fit_seconds else None
        if args.model:
            panel = win.shape.model_panel
            panel.kind.setCurrentIndex(panel.kind.findData(args.model))
        if this_run is not None:
            this_run.applied()
        win.show()
        script = ScriptedRun(win, args, this_run) if args.scripted else None
        path = args.file or demo_shape()
        QtCore.QTimer.singleShot(0, lambda: win.open_path(path))
        code = QtWidgets.QApplication.instance().exec()
    return script.exit_code if script is not None and script.exit_code else code
