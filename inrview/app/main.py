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
    return ("no display: run inrview in a desktop session or under xvfb-run "
            "(for headless fitting use `inrview fit FILE -o OUT.ply`)")


def run(args) -> int:
    """Open the window as `args` asks (the namespace of inrview.cli.app: file, fit_seconds, screenshot, quit,
    window_size, model, settings, no_restore, scripted, ...); returns the exit status."""
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
    if args.window_size:
        win.resize(*args.window_size)
    if args.model:
        i = win.model_panel.kind.findData(args.model)
        win.model_panel.kind.setCurrentIndex(i)
    win.show()
    scripted = ScriptedRun(win, args) if args.scripted else None
    path = args.file or inrview.demo_shape()
    QtCore.QTimer.singleShot(0, lambda: win.open_path(path))
    code = app.exec()
    return scripted.exit_code if scripted is not None and scripted.exit_code else code
