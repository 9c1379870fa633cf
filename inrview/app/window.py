"""The main window: a thin frame around the feature controllers.

The window owns what the features share: the 3D viewport, the status bar, the log, errors and settings, the
menus' frame (menus.py), opening files and closing. It knows no feature's docks or workers: the features are
controllers (common/controller.py), each in its own folder with its state, worker, view and panels, and each
declares its docks (common.controller.Dock), which the window places:

- ``shape``  meshes, point clouds and checkpoints: opening, training, the live view, exports (shape/)
- ``cloud``  a point cloud's normals and Compare with Poisson (cloud/)
- ``image``  the 2D image mode, a tab of its own (image/)
- ``space``  shape spaces: morphing, principal directions, completion, training from a folder (space/)
- ``watch``  time-lapse, training samples, errors and probes of the 3D view (watch/)
- ``view``   render styles, projection, up axis, copied and saved viewpoints (view/)
- ``overlay``  reference meshes and other results drawn with the surface (overlay/)

Adding one: subclass common.controller.Controller in its own folder, define the hooks it needs (its tab or
docks, menus, actions, worker results, settings, start, close, shutdown) and add it to CONTROLLERS below. It is
built as ``cls(window)`` and is reachable as ``window.<name>``; controllers talk to each other only through
public methods and Qt signals, never each other's widgets.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt6 import QtCore, QtGui, QtWidgets

from . import menus
from .cloud.controller import CloudController
from .common.controller import Dock
from .common.log_panel import LogPanel, QtLogHandler
from .common.memory import limit_arenas
from .common.settings import Settings
from .common.status import StatusBar
from .common.viewport import Viewport
from .image.controller import ImageController
from .overlay.controller import OverlayController
from .runs.controller import RunsController
from .shape.controller import ShapeController
from .space.controller import SpaceController
from .view.controller import ViewController
from .watch.controller import WatchController

#: The features, in the order they are built and their hooks called (tabs, menus and toolbar follow it; a
#: controller that listens to another's signals comes after it).
CONTROLLERS = [
    ("shape", ShapeController),
    ("cloud", CloudController),
    ("image", ImageController),
    ("space", SpaceController),
    ("watch", WatchController),
    ("view", ViewController),
    ("overlay", OverlayController),
    ("runs", RunsController),  # the history of runs: records the shape worker's fits (after shape)
]

AREAS = {
    "left": QtCore.Qt.DockWidgetArea.LeftDockWidgetArea,
    "right": QtCore.Qt.DockWidgetArea.RightDockWidgetArea,
    "bottom": QtCore.Qt.DockWidgetArea.BottomDockWidgetArea,
    "top": QtCore.Qt.DockWidgetArea.TopDockWidgetArea,
}


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, settings: Settings | None = None, restore: bool = True):
        super().__init__()
        self.settings = settings or Settings()
        self.setWindowTitle("inrview")
        self.setAcceptDrops(True)
        self.setDockOptions(self.dockOptions() | QtWidgets.QMainWindow.DockOption.AllowTabbedDocks)
        self.closed = False
        self.quiet_errors = False  # scripted runs report errors on stderr instead of dialogs
        self.errors: list[str] = []
        self.error_box: QtWidgets.QMessageBox | None = None
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self.log_panel = LogPanel()
        self.viewport = Viewport(self)
        limit_arenas()  # before the workers and the renderer start their threads (memory.py)
        self._build_controllers()
        self.setCentralWidget(self._central())
        self._place_docks()
        menus.build(self)
        self._log_handler = QtLogHandler(self.log_panel)  # the package's Python log records, from any thread
        logging.getLogger("inrview").addHandler(self._log_handler)
        if restore:
            self.restore_settings()
        self.update_actions()
        for c in self.controllers:
            c.start()

    def _build_controllers(self) -> None:
        self.controllers = []
        for name, cls in CONTROLLERS:
            controller = cls(self)
            setattr(self, name, controller)
            self.controllers.append(controller)

    @property
    def worker(self):
        """The shape controller's worker thread (the one that trains the 3D tab's network)."""
        return self.shape.worker

    # == construction ==================================================================================
    def _central(self) -> QtWidgets.QWidget:
        """The first controller's tab (the 3D view), and the others' as more tabs when there are any."""
        pages = [(c.TAB, w) for c in self.controllers if c.TAB is not None and (w := c.tab()) is not None]
        self.tab_keys = [key for (key, _), _ in pages]
        self.tabs = None
        if len(pages) == 1:
            return pages[0][1]
        tabs = QtWidgets.QTabWidget()
        tabs.setDocumentMode(True)
        for (_, title), widget in pages:
            tabs.addTab(widget, title)
        tabs.currentChanged.connect(self._tab_changed)
        self.tabs = tabs
        self._dock_visible: dict = {}
        return tabs

    def _place_docks(self) -> None:
        """Every controller's docks and the log, placed as each Dock declares (common/controller.py)."""
        specs = [Dock("log", "Log", self.log_panel, "bottom")]  # the window's own; features may tab with it
        specs += [d for c in self.controllers for d in c.docks()]
        corner, area = QtCore.Qt.Corner, QtCore.Qt.DockWidgetArea
        self.setCorner(corner.BottomLeftCorner, area.LeftDockWidgetArea)  # side columns run the full height,
        self.setCorner(corner.BottomRightCorner, area.RightDockWidgetArea)  # the bottom docks sit under the view
        self.docks = {}
        for d in _in_relation_order(specs):  # each dock right after the one it goes below or tabs with
            dock = QtWidgets.QDockWidget(d.title, self)
            dock.setObjectName(f"dock_{d.name}")
            dock.setWidget(_scrolled(d.widget) if d.scroll else d.widget)
            self.addDockWidget(AREAS[d.area], dock)
            self.docks[d.name] = dock
            if d.below in self.docks:
                self.splitDockWidget(self.docks[d.below], dock, QtCore.Qt.Orientation.Vertical)
            if d.tab_with in self.docks:
                self.tabifyDockWidget(self.docks[d.tab_with], dock)
        QtCore.QTimer.singleShot(0, self._hide_stray_tab_bars)
        for d in specs:
            if d.front:
                self.docks[d.name].raise_()
            if d.size:
                horizontal = d.area in ("left", "right")
                orientation = QtCore.Qt.Orientation.Horizontal if horizontal else QtCore.Qt.Orientation.Vertical
                self.resizeDocks([self.docks[d.name]], [d.size], orientation)

    def _hide_stray_tab_bars(self) -> None:
        """Tabifying a third dock into a group can leave the group's first tab bar behind (drawn over the
        view's edge, with the first two titles): hide a bar whose tabs are a strict part of another's."""
        bars = [b for b in self.findChildren(QtWidgets.QTabBar) if b.parent() is self]
        tabs = {b: {b.tabText(i) for i in range(b.count())} for b in bars}
        for b in bars:
            if any(tabs[b] < tabs[other] for other in bars if other is not b):
                b.hide()

    # == services for the controllers ==================================================================
    def log(self, level: str, text: str) -> None:
        self.log_panel.add(level, text)

    def show_error(self, title: str, message: str) -> None:
        """Log the error and show it in a (non-blocking) dialog; the app keeps its state."""
        self.errors.append(message)
        self.log("error", message)
        if self.quiet_errors or self.closed:
            return
        if self.error_box is not None:
            self.error_box.close()
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Critical, title, message, QtWidgets.QMessageBox.StandardButton.Ok, self
        )
        box.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        box.open()
        self.error_box = box

    def confirm(self, title: str, question: str) -> bool:
        answer = QtWidgets.QMessageBox.question(self, title, question)
        return answer == QtWidgets.QMessageBox.StandardButton.Yes

    def update_actions(self) -> None:
        """Every controller enables the actions that make sense now."""
        for c in self.controllers:
            c.update_actions()

    def add_recent(self, path: str) -> None:
        self.settings.add_recent(path)
        menus.refresh_recent(self)

    def show_tab(self, controller) -> None:
        if self.tabs is not None and controller.TAB is not None and controller.TAB[0] in self.tab_keys:
            index = self.tab_keys.index(controller.TAB[0])
            if self.tabs.currentIndex() != index:
                self.tabs.setCurrentIndex(index)

    def _tab_changed(self, index: int) -> None:
        """The docks and the toolbar belong to the first tab (3D): hidden while another one is shown."""
        other = index != 0
        if other:
            self._dock_visible = {n: d.isVisible() for n, d in self.docks.items()}
            for d in self.docks.values():
                d.hide()
        else:
            for n, d in self.docks.items():
                d.setVisible(self._dock_visible.get(n, True))
        self.toolbar.setVisible(not other)
        self.settings.set("window/mode", self.tab_keys[index])

    # == worker results ================================================================================
    def dispatch_done(self, tag: str, result) -> None:
        """A worker command finished: offered to every controller until one takes its tag."""
        if not self.closed and not any(c.on_done(tag, result) for c in self.controllers):
            self.statusBar().showMessage(f"{tag}: {result.get('path', '')}", 4000)

    def dispatch_failed(self, tag: str, message: str) -> None:
        """A worker command failed: offered to every controller; an error dialog when none takes it."""
        if not self.closed and not any(c.on_failed(tag, message) for c in self.controllers):
            self.show_error("Error", message)

    # == opening =======================================================================================
    def open_dialog(self) -> None:
        from .common.dialogs import IMAGE_FILTER, OPEN_FILTER, open_file

        filters = OPEN_FILTER + (IMAGE_FILTER if self.image.available else "")
        path = open_file(self, "Open a shape, checkpoint or image", filters)
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        """Open a file with the controller it belongs to (pictures: the image mode; anything else: shapes)."""
        path = str(path)
        owner = next((c for c in self.controllers if c is not self.shape and c.accepts(path)), self.shape)
        self.show_tab(owner)
        return owner.open_path(path)

    def dragEnterEvent(self, ev: QtGui.QDragEnterEvent) -> None:  # noqa: N802
        if any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dragMoveEvent(self, ev) -> None:  # noqa: N802
        if any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dropEvent(self, ev: QtGui.QDropEvent) -> None:  # noqa: N802
        files = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if files:
            ev.acceptProposedAction()
            if len(files) > 1:
                self.log("warning", f"{len(files)} files dropped; opening the first, {Path(files[0]).name}")
            self.open_path(files[0])

    # == screenshots of the view =======================================================================
    def export_screenshot(self, path: str, width: int, height: int, transparent: bool = False) -> tuple[int, int]:
        size = self.viewport.save_image(path, width, height, transparent)
        self.log("info", f"saved a {size[0]} x {size[1]} screenshot to {path}")
        return size

    def export_screenshot_dialog(self) -> None:
        from .common.dialogs import ScreenshotDialog, save_path

        vp = self.viewport
        dlg = ScreenshotDialog(self.settings, (vp.width(), vp.height()), self)
        if not dlg.exec():
            return
        w, h, t = dlg.values()
        current = self.shape.current
        stem = Path(current.path).stem if current else "inrview"
        path = save_path(self, self.settings, "Save screenshot", "PNG image (*.png)", f"{stem}.png", "screenshot")
        if path:
            try:
                self.export_screenshot(path, w, h, t)
            except Exception as err:
                self.show_error("Cannot save screenshot", f"{path}: {err}")

    # == settings and closing ==========================================================================
    def restore_settings(self) -> None:
        s = self.settings
        geo = s.get("window/geometry", QtCore.QByteArray())
        if geo:
            self.restoreGeometry(geo)
        else:
            self.resize(1280, 800)
        st = s.get("window/state", QtCore.QByteArray())
        if st:
            self.restoreState(st)
        for c in self.controllers:
            c.restore_settings(s)
        mode = s.get("window/mode", "shape")
        if self.tabs is not None and mode in self.tab_keys:
            self.tabs.setCurrentIndex(self.tab_keys.index(mode))
        menus.refresh_recent(self)
        menus.sync_checks(self)

    def save_settings(self) -> None:
        s = self.settings
        s.set("window/geometry", self.saveGeometry())
        s.set("window/state", self.saveState())
        for c in self.controllers:
            c.save_settings(s)
        s.sync()

    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:  # noqa: N802
        if self.closed:
            ev.accept()
            return
        if not all(c.confirm_close() for c in self.controllers):
            ev.ignore()
            return
        self.save_settings()
        for c in self.controllers:
            c.close()
        for c in self.controllers:
            c.shutdown()
        self.closed = True
        logging.getLogger("inrview").removeHandler(self._log_handler)
        self.viewport.close()  # the plotter is closed explicitly, after the worker has stopped
        ev.accept()


def _in_relation_order(specs: list) -> list:
    """The docks ordered so that each comes after the dock it is placed below or tabbed with."""
    names = {d.name for d in specs}
    done: set[str] = set()
    ordered: list = []
    while len(ordered) < len(specs):
        ready = [
            d
            for d in specs
            if d.name not in done and all(t is None or t not in names or t in done for t in (d.below, d.tab_with))
        ]
        if not ready:  # a cycle of relations: place the rest as declared
            ready = [d for d in specs if d.name not in done]
        for d in ready:
            done.add(d.name)
            ordered.append(d)
    return ordered


def _scrolled(panel: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    """A tall form in a scroll area rather than forcing the window's height."""
    scroll = QtWidgets.QScrollArea()
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(panel.minimumSizeHint().width() + 12)
    return scroll
