"""The main window: a thin frame around the feature controllers.

The window owns what the features share: the 3D viewport, the shape worker thread, the docks' placement,
the status bar, the log, errors and settings, the menus' frame (menus.py), opening files and closing. The
features are controllers (common/controller.py), each in its own folder with its state, worker commands, view
and panels:

- ``shape``  meshes, point clouds and checkpoints: opening, training, the live view, exports (shape/)
- ``cloud``  a point cloud's normals and Compare with Poisson (cloud/)
- ``image``  the 2D image mode, a tab of its own (image/)
- ``space``  shape spaces: morphing, principal directions, completion, training from a folder (space/)

Adding one (as shape spaces in ``inrview/app/space/`` were): subclass common.controller.Controller in its own
folder, define the hooks it needs (its tab or docks, menus, actions, worker results, settings, close), build
it in ``_build_controllers`` below and append it to ``self.controllers``. The window calls every hook on every
controller; controllers talk to each other only through public methods and Qt signals.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt6 import QtCore, QtGui, QtWidgets

from . import menus
from .cloud.controller import CloudController
from .common.log_panel import LogPanel, QtLogHandler
from .common.memory import limit_arenas
from .common.settings import Settings
from .common.status import StatusBar
from .common.viewport import Viewport
from .image.controller import ImageController
from .shape.controller import ShapeController
from .shape.worker import SessionWorker
from .space.controller import SpaceController
from .watch.controller import WatchController

#: Docks side by side in the same area are stacked (vertical split) or tabbed, in this order.
SPLIT, TABBED = [("data", "slices")], [("loss", "log"), ("log", "compare")]


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
        limit_arenas()  # before the worker and the renderer start their threads (memory.py)
        self.worker = SessionWorker()
        self.worker.log.connect(self.log)
        self.worker.done.connect(self._on_done)
        self.worker.failed.connect(self._on_failed)
        self._build_controllers()
        self.setCentralWidget(self._central())
        self._place_docks()
        menus.build(self)
        self._log_handler = QtLogHandler(self.log_panel)  # the package's Python log records, from any thread
        logging.getLogger("inrview").addHandler(self._log_handler)
        if restore:
            self.restore_settings()
        self.update_actions()
        self.worker.start()

    def _build_controllers(self) -> None:
        self.shape = ShapeController(self, self.worker, self.viewport)
        self.cloud = CloudController(self, self.shape)
        self.image = ImageController(self)
        self.watch = WatchController(self, self.shape)  # time-lapse, samples, errors, probes (after shape)
        self.space = SpaceController(self)
        self.controllers = [self.shape, self.cloud, self.image, self.space, self.watch]

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
        self.docks = {}
        B = QtCore.Qt.DockWidgetArea.BottomDockWidgetArea
        for name, title, panel, area in [d for c in self.controllers for d in c.docks()] + [
            ("log", "Log", self.log_panel, B)
        ]:
            dock = QtWidgets.QDockWidget(title, self)
            dock.setObjectName(f"dock_{name}")
            dock.setWidget(_scrolled(panel) if name == "model" else panel)
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        docks = self.docks
        for a, b in SPLIT:
            self.splitDockWidget(docks[a], docks[b], QtCore.Qt.Orientation.Vertical)
        for a, b in TABBED:
            self.tabifyDockWidget(docks[a], docks[b])
        docks["loss"].raise_()
        self.resizeDocks([docks["data"], docks["model"]], [270, 270], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([docks["loss"]], [190], QtCore.Qt.Orientation.Vertical)

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
    def _on_done(self, tag: str, result) -> None:
        if not self.closed and not any(c.on_done(tag, result) for c in self.controllers):
            self.statusBar().showMessage(f"{tag}: {result.get('path', '')}", 4000)

    def _on_failed(self, tag: str, message: str) -> None:
        if not self.closed and not any(c.on_failed(tag, message) for c in self.controllers):
            self.show_error("Error", message)

    # == opening =======================================================================================
    def open_dialog(self) -> None:
        from .common.dialogs import IMAGE_FILTER, OPEN_FILTER

        filters = OPEN_FILTER + (IMAGE_FILTER if self.image.available else "")
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open a shape, checkpoint or image", self.settings.last_dir(), filters
        )
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
        self.viewport.up_axis = 2 if s.get("view/up", "Y") == "Z" else 1
        menus.refresh_recent(self)
        menus.sync_checks(self)

    def save_settings(self) -> None:
        s = self.settings
        s.set("window/geometry", self.saveGeometry())
        s.set("window/state", self.saveState())
        for c in self.controllers:
            c.save_settings(s)
        s.set("view/up", "Z" if self.viewport.up_axis == 2 else "Y")
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
        self.worker.shutdown()
        self.closed = True
        logging.getLogger("inrview").removeHandler(self._log_handler)
        self.viewport.close()  # the plotter is closed explicitly, after the worker has stopped
        ev.accept()


def _scrolled(panel: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    """A tall form in a scroll area rather than forcing the window's height."""
    scroll = QtWidgets.QScrollArea()
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(panel.minimumSizeHint().width() + 12)
    return scroll
