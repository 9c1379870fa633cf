"""Overlays in the window: add a reference mesh or a second result (a mesh, a point cloud, a shape
checkpoint), give each a colour and an opacity, remove it. The Overlays dock lists them.

Loading runs on the overlay worker (worker.py); the GUI thread only builds the actor (view.py).
"""

from __future__ import annotations

from collections import deque

from PyQt6 import QtCore, QtGui, QtWidgets

from ..common.actions import make_action
from ..common.controller import Controller, Dock
from ..common.dialogs import open_file
from ..common.forms import column
from .view import OverlayView
from .worker import OverlayWorker

COLORS = ("#6ab0de", "#e07b9b", "#8fd18b", "#c3a6f0")
DEFAULT_OPACITY = 0.5
FILTER = "Meshes, point clouds, shape checkpoints (*.ply *.obj *.stl *.off *.glb *.gltf *.xyz *.npy *.safetensors)"


class OverlayPanel(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        lay = column(self, 6)
        self.list = QtWidgets.QListWidget()
        self.list.setMinimumHeight(50)
        self.list.setToolTip("Meshes drawn with the current surface (a reference, or another run's result)")
        lay.addWidget(self.list, 1)
        row = QtWidgets.QHBoxLayout()
        self.color = QtWidgets.QPushButton("Colour…")
        self.opacity = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity.setRange(5, 100)
        self.opacity.setValue(int(DEFAULT_OPACITY * 100))
        self.opacity.setToolTip("Opacity of the selected overlay")
        row.addWidget(self.color)
        row.addWidget(QtWidgets.QLabel("Opacity"))
        row.addWidget(self.opacity, 1)
        lay.addLayout(row)
        self.buttons = QtWidgets.QHBoxLayout()
        lay.addLayout(self.buttons)

    def add_action_button(self, action) -> None:
        b = QtWidgets.QToolButton()
        b.setDefaultAction(action)
        b.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.buttons.addWidget(b)


class OverlayController(Controller):
    added = QtCore.pyqtSignal(str)  # an overlay is drawn (its path)

    def __init__(self, window):
        super().__init__(window)
        self.view = OverlayView(window.viewport)
        window.viewport.add_extra(self.view)
        self.panel = OverlayPanel()
        self.worker = OverlayWorker()
        self._pending: deque = deque()  # (colour, opacity) of each load queued, in order
        self.worker.done.connect(self._on_loaded)
        self.worker.failed.connect(self._on_failed)
        self.act_add = make_action(
            window, "Add &overlay…", self.add_dialog, "Ctrl+Shift+O", "Draw a reference mesh or another result too"
        )
        self.act_remove = make_action(window, "Remove overlay", self.remove_selected, tip="Remove the selected one")
        for a in (self.act_add, self.act_remove):
            self.panel.add_action_button(a)
        self.panel.color.clicked.connect(self._pick_color)
        self.panel.opacity.valueChanged.connect(self._opacity_changed)
        self.panel.list.currentRowChanged.connect(self._selected)

    # == the window's hooks ============================================================================
    def docks(self) -> list[Dock]:
        return [Dock("overlays", "Overlays", self.panel, "right", tab_with="model")]

    def view_actions(self) -> list:
        return [self.act_add]

    def update_actions(self) -> None:
        has = bool(self.view.items)
        self.act_remove.setEnabled(has)
        self.panel.color.setEnabled(has)
        self.panel.opacity.setEnabled(has)

    def start(self) -> None:
        self.worker.start()

    def shutdown(self) -> None:
        self.worker.shutdown()

    # == commands ======================================================================================
    def add_dialog(self) -> None:
        path = open_file(self.window, "Overlay a mesh or result", FILTER)
        if path:
            self.add(path)

    def add(self, path: str, color: str | None = None, opacity: float = DEFAULT_OPACITY) -> None:
        """Load `path` (on the worker) and draw it with the surface in `color` (default: the next of COLORS)."""
        self._pending.append((color, opacity))
        self.window.log("info", f"loading the overlay {path}")
        self.worker.load(path)

    def _on_loaded(self, tag: str, r: dict) -> None:
        color, opacity = self._pending.popleft() if self._pending else (None, DEFAULT_OPACITY)
        if self.window.closed:
            return
        color = color or COLORS[len(self.view.items) % len(COLORS)]
        self.view.add(r["name"], r["path"], r["points"], r["faces"], color, opacity)
        self.panel.list.addItem(r["name"])
        self.panel.list.setCurrentRow(self.panel.list.count() - 1)
        kind = f"{len(r['faces'])} faces" if r["faces"] is not None else f"{len(r['points'])} points"
        self.window.log("info", f"overlaid {r['path']} ({kind})")
        self.window.update_actions()
        self.added.emit(r["path"])

    def _on_failed(self, tag: str, message: str) -> None:
        if self._pending:
            self._pending.popleft()
        self.window.show_error("Cannot add the overlay", message)

    def remove_selected(self) -> None:
        i = self.panel.list.currentRow()
        if 0 <= i < len(self.view.items):
            self.view.remove(i)
            self.panel.list.takeItem(i)
            self.window.update_actions()

    def set_color(self, i: int, color: str) -> None:
        self.view.set_color(i, color)
        self._selected(i)

    def _selected(self, i: int) -> None:
        if 0 <= i < len(self.view.items):
            o = self.view.items[i]
            self.panel.color.setStyleSheet(f"background-color: {o.color}; color: black")
            blocker = QtCore.QSignalBlocker(self.panel.opacity)  # noqa: F841
            self.panel.opacity.setValue(int(round(o.opacity * 100)))

    def _pick_color(self) -> None:
        i = self.panel.list.currentRow()
        if 0 <= i < len(self.view.items):
            c = QtWidgets.QColorDialog.getColor(QtGui.QColor(self.view.items[i].color), self.window, "Overlay colour")
            if c.isValid():
                self.set_color(i, c.name())

    def _opacity_changed(self, value: int) -> None:
        i = self.panel.list.currentRow()
        if 0 <= i < len(self.view.items):
            self.view.set_opacity(i, value / 100)
