"""Menus, toolbar and keyboard shortcuts of the main window (the controllers add their own actions).

Every key the window reacts to is an action here; the viewport passes no key to VTK, so VTK's surprising
defaults (stereo on '3', wireframe on 'w', quit on 'q'/'e', ...) never fire.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6 import QtCore, QtGui, QtWidgets

from . import guide
from .common.actions import make_action

CAMERA_KEYS = {"+X": "X", "-X": "Shift+X", "+Y": "Y", "-Y": "Shift+Y", "+Z": "Z", "-Z": "Shift+Z", "iso": "I"}


def build(w) -> None:
    """The window's menus and toolbar: its own actions (open, screenshot, quit, the view, help) around the ones
    each controller adds (controller.file_actions(), add_menus(), add_to_toolbar())."""
    SP = QtWidgets.QStyle.StandardPixmap
    mb = w.menuBar()
    w.act_open = make_action(
        w,
        "&Open…",
        w.open_dialog,
        QtGui.QKeySequence.StandardKey.Open,
        "Open a mesh, point cloud or checkpoint",
        SP.SP_DialogOpenButton,
    )
    w.act_screenshot = make_action(
        w,
        "Export screens&hot…",
        w.export_screenshot_dialog,
        "Ctrl+Shift+S",
        "Save the view as a PNG at any size",
        SP.SP_DesktopIcon,
    )
    w.act_quit = make_action(w, "&Quit", w.close, QtGui.QKeySequence.StandardKey.Quit)
    fm = mb.addMenu("&File")
    fm.addAction(w.act_open)
    w.recent_menu = fm.addMenu("Open &recent")
    fm.addSeparator()
    for a in [a for c in w.controllers for a in c.file_actions()] + [w.act_screenshot]:
        fm.addAction(a)
    fm.addSeparator()
    fm.addAction(w.act_quit)
    for c in w.controllers:
        c.add_menus(mb)
    _view_menu(w, mb.addMenu("&View"))
    hm = mb.addMenu("&Help")
    w.act_keys = make_action(w, "&Keys and mouse", lambda: guide.show_keys(w), "F1", "Every key of the window")
    w.act_keys.setShortcuts([QtGui.QKeySequence("F1"), QtGui.QKeySequence("?")])
    hm.addAction(w.act_keys)
    hm.addSeparator()
    for label, name in guide.DOCS.items():
        hm.addAction(make_action(w, label, lambda _=False, n=name: guide.open_doc(w, n)))
    hm.addSeparator()
    hm.addAction(make_action(w, "&About inrview", lambda: _about(w)))

    tb = w.toolbar = w.addToolBar("Main")
    tb.setObjectName("toolbar_main")
    tb.setMovable(False)
    tb.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    tb.addAction(w.act_open)
    for c in w.controllers:
        c.add_to_toolbar(tb)
    tb.addSeparator()
    tb.addAction(w.act_reset)
    tb.addAction(w.act_screenshot)


def _view_menu(w, vm) -> None:
    w.act_reset = make_action(w, "&Reset view", w.viewport.reset_view, "R", "Fit the shape in the view")
    vm.addAction(w.act_reset)
    cams = vm.addMenu("&Camera")
    w.camera_actions = {}
    for name, key in CAMERA_KEYS.items():
        label = "Isometric" if name == "iso" else f"Look from {name}"
        a = make_action(w, label, lambda _=False, n=name: w.viewport.view_preset(n), key)
        cams.addAction(a)
        w.camera_actions[name] = a
    vm.addSeparator()
    for a in [a for c in w.controllers for a in c.view_actions()]:
        vm.addAction(a)
    w.act_fxaa = make_action(
        w,
        "Smooth edges (FXAA)",
        lambda on: _set_fxaa(w, on),
        checkable=True,
        tip="Anti-aliasing in the view (costs drawing time on a CPU renderer)",
    )
    vm.addAction(w.act_fxaa)
    vm.addSeparator()
    for dock in w.docks.values():
        vm.addAction(dock.toggleViewAction())


def _set_fxaa(w, on: bool) -> None:
    if on:
        w.viewport.enable_anti_aliasing("fxaa")
    else:
        w.viewport.disable_anti_aliasing()
    w.settings.set("view/fxaa", bool(on))
    w.viewport.request_render()


def sync_checks(w) -> None:
    fxaa = w.settings.get("view/fxaa", False)
    w.act_fxaa.setChecked(fxaa)
    if fxaa:
        w.viewport.enable_anti_aliasing("fxaa")


def refresh_recent(w) -> None:
    m = w.recent_menu
    m.clear()
    files = w.settings.recent_files()
    for p in files:
        a = m.addAction(Path(p).name)
        a.setToolTip(p)
        a.setStatusTip(p)
        a.triggered.connect(lambda _=False, path=p: w.open_path(path))
    if files:
        m.addSeparator()
        m.addAction("Clear list", lambda: (w.settings.clear_recent(), refresh_recent(w)))
    m.setEnabled(bool(files))


def _about(w) -> None:
    import inrview

    QtWidgets.QMessageBox.about(
        w,
        "About inrview",
        f"<b>inrview {inrview.__version__}</b><br>Implicit neural representations, trained and viewed live.",
    )
