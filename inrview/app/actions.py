"""Menus, toolbar and keyboard shortcuts of the main window.

Every key the window reacts to is an action here; the viewport passes no key to VTK, so VTK's surprising
defaults (stereo on '3', wireframe on 'w', quit on 'q'/'e', ...) never fire.
"""
from __future__ import annotations

from pathlib import Path

from PyQt6 import QtCore, QtGui, QtWidgets

CAMERA_KEYS = {"+X": "X", "-X": "Shift+X", "+Y": "Y", "-Y": "Shift+Y", "+Z": "Z", "-Z": "Shift+Z", "iso": "I"}


def _action(w, text: str, slot, shortcut=None, tip: str = "", icon=None, checkable=False) -> QtGui.QAction:
    a = QtGui.QAction(text, w)
    if shortcut:
        a.setShortcut(QtGui.QKeySequence(shortcut))
    if tip:
        a.setStatusTip(tip)
        a.setToolTip(tip + (f" ({a.shortcut().toString()})" if shortcut else ""))
    if icon is not None:
        a.setIcon(w.style().standardIcon(icon))
    a.setCheckable(checkable)
    a.triggered.connect(slot)
    return a


def build(w) -> None:
    SP = QtWidgets.QStyle.StandardPixmap
    mb = w.menuBar()
    w.act_open = _action(w, "&Open…", w.open_dialog, QtGui.QKeySequence.StandardKey.Open,
                         "Open a mesh, point cloud or checkpoint", SP.SP_DialogOpenButton)
    w.act_save_ckpt = _action(w, "&Save checkpoint…", w.save_checkpoint_dialog, QtGui.QKeySequence.StandardKey.Save,
                              "Save the network (weights, optimiser, settings) to continue later", SP.SP_DialogSaveButton)
    w.act_export_mesh = _action(w, "Export &mesh…", w.export_mesh_dialog, "Ctrl+E",
                                "Extract the surface and write it in the input's units (PLY/OBJ/STL/GLB)")
    w.act_screenshot = _action(w, "Export screens&hot…", w.export_screenshot_dialog, "Ctrl+Shift+S",
                               "Save the view as a PNG at any size", SP.SP_DesktopIcon)
    w.act_export_poisson = _action(w, "Export &Poisson mesh…", w.export_poisson_dialog,
                                   tip="Write the screened Poisson surface of the comparison (PLY/OBJ/STL/GLB)")
    w.act_quit = _action(w, "&Quit", w.close, QtGui.QKeySequence.StandardKey.Quit)
    fm = mb.addMenu("&File")
    fm.addAction(w.act_open)
    w.recent_menu = fm.addMenu("Open &recent")
    fm.addSeparator()
    for a in (w.act_save_ckpt, w.act_export_mesh, w.act_export_poisson, w.act_screenshot):
        fm.addAction(a)
    fm.addSeparator()
    fm.addAction(w.act_quit)

    w.act_start = _action(w, "&Start", lambda: w.start_training(fresh=True), "Ctrl+Return",
                          "Train a new network from scratch with the settings in the dock", SP.SP_MediaPlay)
    w.act_continue = _action(w, "&Continue", lambda: w.start_training(fresh=False), "Ctrl+Shift+Return",
                             "Continue training the current network", SP.SP_MediaSeekForward)
    w.act_pause = _action(w, "&Pause", w.toggle_pause, "Ctrl+P", "Pause or resume training", SP.SP_MediaPause)
    w.act_stop = _action(w, "S&top", w.stop_training, "Ctrl+.", "Stop training after the current step",
                         SP.SP_MediaStop)
    tm = mb.addMenu("&Training")
    for a in (w.act_start, w.act_continue, w.act_pause, w.act_stop):
        tm.addAction(a)
    for a in (w.act_start, w.act_continue, w.act_pause, w.act_stop):
        w.model_panel.add_action_button(a)

    _compare_menu(w, mb)

    vm = mb.addMenu("&View")
    w.act_reset = _action(w, "&Reset view", w.viewport.reset_view, "R", "Fit the shape in the view")
    vm.addAction(w.act_reset)
    cams = vm.addMenu("&Camera")
    w.camera_actions = {}
    for name, key in CAMERA_KEYS.items():
        label = "Isometric" if name == "iso" else f"Look from {name}"
        a = _action(w, label, lambda _=False, n=name: w.viewport.view_preset(n), key)
        cams.addAction(a)
        w.camera_actions[name] = a
    up = vm.addMenu("&Up axis")
    group = QtGui.QActionGroup(w)
    w.act_up_y = _action(w, "Y up", lambda: _set_up(w, 1), checkable=True)
    w.act_up_z = _action(w, "Z up", lambda: _set_up(w, 2), checkable=True)
    for a in (w.act_up_y, w.act_up_z):
        group.addAction(a)
        up.addAction(a)
    w.act_fxaa = _action(w, "Smooth edges (FXAA)", lambda on: _set_fxaa(w, on), checkable=True,
                         tip="Anti-aliasing in the view (costs drawing time on a CPU renderer)")
    vm.addAction(w.act_fxaa)
    vm.addSeparator()
    for dock in w.docks.values():
        vm.addAction(dock.toggleViewAction())

    hm = mb.addMenu("&Help")
    hm.addAction(_action(w, "&Keyboard and mouse", lambda: _show_help(w)))
    hm.addAction(_action(w, "&About inrview", lambda: _about(w)))

    tb = w.toolbar = w.addToolBar("Main")
    tb.setObjectName("toolbar_main")
    tb.setMovable(False)
    tb.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for a in (w.act_open, w.act_save_ckpt):
        tb.addAction(a)
    tb.addSeparator()
    for a in (w.act_start, w.act_continue, w.act_pause, w.act_stop):
        tb.addAction(a)
    tb.addSeparator()
    tb.addAction(w.act_reset)
    tb.addAction(w.act_screenshot)


def _compare_menu(w, mb) -> None:
    """Point clouds: Compare with Poisson, the reference mesh and the view modes (also in the Compare dock)."""
    from .cloud import VIEW_MODES

    w.act_compare = _action(w, "Compare with &Poisson", w.compare_poisson, "Ctrl+B",
                            "Run screened Poisson (Open3D) on the same points and measure both surfaces")
    w.act_reference = _action(w, "Set &reference mesh…", w.set_reference_dialog,
                              tip="A mesh to measure both surfaces against (two-sided Chamfer-L1, F-score)")
    cm = mb.addMenu("&Compare")
    cm.addAction(w.act_compare)
    cm.addAction(w.act_reference)
    cm.addSeparator()
    group = QtGui.QActionGroup(w)
    w.view_mode_actions = {}
    for key, label in VIEW_MODES.items():
        a = _action(w, f"Show {label}", lambda _=False, k=key: w.set_view_mode(k), checkable=True)
        a.setChecked(key == "inrview")
        group.addAction(a)
        cm.addAction(a)
        w.view_mode_actions[key] = a
    for a in (w.act_compare, w.act_reference, w.act_export_poisson):
        w.compare_panel.add_action_button(a)


def _set_up(w, axis: int) -> None:
    w.viewport.up_axis = axis
    w.viewport.reset_view()


def _set_fxaa(w, on: bool) -> None:
    if on:
        w.viewport.enable_anti_aliasing("fxaa")
    else:
        w.viewport.disable_anti_aliasing()
    w.settings.set("view/fxaa", bool(on))
    w.viewport.request_render()


def sync_checks(w) -> None:
    (w.act_up_z if w.viewport.up_axis == 2 else w.act_up_y).setChecked(True)
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


def update_enabled(w) -> None:
    """Enable the actions that make sense in the worker's state."""
    st = w.state
    has_session = w.worker.session is not None
    has_field = w.worker.field is not None
    busy = st == "busy"
    training = st in ("training", "paused")
    w.act_start.setEnabled(has_session and not busy and not training)
    w.act_continue.setEnabled(has_session and not busy and not training and w.worker.session.trainer.state.step > 0)
    w.act_pause.setEnabled(training)
    w.act_pause.setText("&Resume" if st == "paused" else "&Pause")
    w.act_pause.setIcon(w.style().standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MediaPlay if st == "paused"
                                               else QtWidgets.QStyle.StandardPixmap.SP_MediaPause))
    w.act_stop.setEnabled(training)
    w.act_export_mesh.setEnabled(has_field and not busy)
    w.act_save_ckpt.setEnabled(has_field and not busy)
    w.model_panel.set_editable(not training and not busy)  # settings apply at the next start
    cloud = getattr(w, "cloud", None) is not None
    has_poisson = w.viewport.compare.has_poisson
    w.act_compare.setEnabled(cloud and has_field and not busy and not w.comparing and w.surface_shown())
    w.act_reference.setEnabled(cloud and not busy)
    w.act_export_poisson.setEnabled(has_poisson and not busy)
    for a in w.view_mode_actions.values():
        a.setEnabled(has_poisson)
    w.data_panel.normals.setEnabled(cloud and not busy)


def _show_help(w) -> None:
    keys = "<br>".join(f"<b>{k}</b>: {('isometric view' if n == 'iso' else 'look from ' + n)}"
                       for n, k in CAMERA_KEYS.items())
    QtWidgets.QMessageBox.information(
        w, "Keyboard and mouse",
        "<b>Left drag</b>: rotate &nbsp; <b>Right drag / wheel</b>: zoom &nbsp; <b>Middle or Shift+left drag</b>: pan<br>"
        "<b>R</b>: reset view<br>" + keys + "<br><b>Ctrl+O</b>: open &nbsp; <b>Ctrl+Return</b>: start training"
        " &nbsp; <b>Ctrl+P</b>: pause/resume &nbsp; <b>Ctrl+.</b>: stop")


def _about(w) -> None:
    import inrview

    QtWidgets.QMessageBox.about(w, "About inrview",
                                f"<b>inrview {inrview.__version__}</b><br>Implicit neural representations, "
                                "trained and viewed live.")
