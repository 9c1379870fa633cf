"""The main window: the viewport in the middle, docks around it, the worker thread behind it.

Every slot here runs on the GUI thread and only updates widgets and actors in place; anything that reads the
network is asked of the worker (worker.py) and comes back as a signal.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path

from PyQt6 import QtCore, QtGui, QtWidgets

from .comparing import CloudMixin
from .exports import ExportsMixin
from .frames import Frame
from .memory import limit_arenas
from .modes import ModesMixin
from .opening import OpeningMixin
from .panels import ComparePanel, DataPanel, LogPanel, LossPanel, ModelPanel, SlicesPanel
from .settings import Settings
from .viewport import Viewport
from .worker import Opened, SessionWorker
from . import actions as menus

AUTOSAVE_SECONDS = 300


class MainWindow(OpeningMixin, ExportsMixin, CloudMixin, ModesMixin, QtWidgets.QMainWindow):
    file_opened = QtCore.pyqtSignal(str)  # a file finished opening (path)
    open_failed = QtCore.pyqtSignal(str)  # the one-line message
    final_drawn = QtCore.pyqtSignal()  # the end-of-run surface is in the view
    training_failed = QtCore.pyqtSignal(str)

    def __init__(self, settings: Settings | None = None, restore: bool = True):
        super().__init__()
        from ..training.device import describe_devices

        self.settings = settings or Settings()
        self.setWindowTitle("inrview")
        self.setAcceptDrops(True)
        self.setDockOptions(self.dockOptions() | QtWidgets.QMainWindow.DockOption.AllowTabbedDocks)
        self.viewport = Viewport(self)
        self.image_mode = None
        self.setCentralWidget(self._central())
        self.data_panel = DataPanel()
        self.model_panel = ModelPanel(describe_devices())
        self.slices_panel = SlicesPanel()
        self.loss_panel = LossPanel()
        self.log_panel = LogPanel()
        self.compare_panel = ComparePanel()
        self.docks = {}
        L, R, B = (QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, QtCore.Qt.DockWidgetArea.RightDockWidgetArea,
                   QtCore.Qt.DockWidgetArea.BottomDockWidgetArea)
        for name, title, panel, area in (("data", "Data", self.data_panel, L), ("slices", "Slices", self.slices_panel, L),
                                         ("model", "Model && training", self.model_panel, R),
                                         ("loss", "Loss", self.loss_panel, B), ("log", "Log", self.log_panel, B),
                                         ("compare", "Compare", self.compare_panel, B)):
            dock = QtWidgets.QDockWidget(title, self)
            dock.setObjectName(f"dock_{name}")
            if name == "model":  # a tall form: scroll rather than force the window's height
                scroll = QtWidgets.QScrollArea()
                scroll.setWidget(panel)
                scroll.setWidgetResizable(True)
                scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
                scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
                scroll.setMinimumWidth(panel.minimumSizeHint().width() + 12)
                dock.setWidget(scroll)
            else:
                dock.setWidget(panel)
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        self.splitDockWidget(self.docks["data"], self.docks["slices"], QtCore.Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.docks["loss"], self.docks["log"])
        self.tabifyDockWidget(self.docks["log"], self.docks["compare"])
        self.docks["loss"].raise_()
        self.resizeDocks([self.docks["data"], self.docks["model"]], [270, 270], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["loss"]], [190], QtCore.Qt.Orientation.Vertical)

        limit_arenas()  # before the worker and the renderer start their threads (memory.py)
        self.worker = SessionWorker()
        self.worker.frame.connect(self._on_frame)
        self.worker.opened.connect(self._on_opened)
        self.worker.failed.connect(self._on_failed)
        self.worker.done.connect(self._on_done)
        self.worker.state.connect(self._on_state)
        self.worker.log.connect(self.log)
        self.state = "idle"
        self.current: Opened | None = None
        self.error_box: QtWidgets.QMessageBox | None = None
        self.errors: list[str] = []
        self.surface_updates: list[float] = []  # times (perf_counter) a new live surface was drawn
        self.slot_seconds: deque = deque(maxlen=2000)  # how long each frame slot took on the GUI thread
        self._it_rate = (None, None, 0.0)  # (step, elapsed, it/s)
        self._closed = False
        self._opened_at = 0.0
        self.quiet_errors = False  # scripted runs report errors on stderr instead of dialogs
        self._init_cloud_ui()

        menus.build(self)
        self._build_status()
        from .panels.log import QtLogHandler

        self._log_handler = QtLogHandler(self.log_panel)  # the package's Python log records, from any thread
        logging.getLogger("inrview").addHandler(self._log_handler)
        self.data_panel.input_style_changed.connect(self._input_style)
        self.data_panel.layer_toggled.connect(self.viewport.show_layer)
        self.slices_panel.changed.connect(self._slices_changed)
        self._slice_timer = QtCore.QTimer(self, singleShot=True, interval=30)
        self._slice_timer.timeout.connect(self._send_slices)
        self.autosave_timer = QtCore.QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave)
        self.set_autosave_interval(self.settings.get("autosave/seconds", AUTOSAVE_SECONDS))
        if restore:
            self.restore_settings()
        self._on_state("idle")
        self.worker.start()

    # == construction helpers ==========================================================================
    def _build_status(self) -> None:
        sb = self.statusBar()
        self.status_state = QtWidgets.QLabel("Ready")
        self.status_progress = QtWidgets.QProgressBar(maximumWidth=160, minimum=0, maximum=1000, textVisible=False)
        self.status_progress.setMaximumHeight(14)
        self.status_step = QtWidgets.QLabel("")
        self.status_rate = QtWidgets.QLabel("")
        self.status_time = QtWidgets.QLabel("")
        self.status_device = QtWidgets.QLabel("")
        sb.addWidget(self.status_state, 1)
        for w in (self.status_progress, self.status_step, self.status_rate, self.status_time, self.status_device):
            sb.addPermanentWidget(w)

    # == logging and errors ============================================================================
    def log(self, level: str, text: str) -> None:
        self.log_panel.add(level, text)

    def show_error(self, title: str, message: str) -> None:
        """Log the error and show it in a (non-blocking) dialog; the app keeps its state."""
        self.errors.append(message)
        self.log("error", message)
        if self.quiet_errors or self._closed:
            return
        if self.error_box is not None:
            self.error_box.close()
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Critical, title, message,
                                    QtWidgets.QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        box.open()
        self.error_box = box

    def confirm(self, title: str, question: str) -> bool:
        answer = QtWidgets.QMessageBox.question(self, title, question)
        return answer == QtWidgets.QMessageBox.StandardButton.Yes

    def _on_failed(self, tag: str, message: str) -> None:
        if self._closed or self._cloud_failed(tag, message):
            return
        titles = {"open": "Cannot open file", "train": "Training failed", "export": "Export failed",
                  "checkpoint": "Cannot save checkpoint", "autosave": "Autosave failed", "start": "Cannot train"}
        self.show_error(titles.get(tag, "Error"), message)
        if tag == "open":
            self.status_state.setText("Ready" if self.current is None else f"Kept {Path(self.current.path).name}")
            self.open_failed.emit(message)
        if tag == "train":
            self.training_failed.emit(message)

    def _on_done(self, tag: str, result) -> None:
        if self._closed or self._cloud_done(tag, result):
            return
        if tag == "export":
            self.log("info", f"exported {result['path']}: {result['faces']} faces at resolution "
                             f"{result['resolution']} ({result['seconds']:.1f} s)")
        elif tag in ("checkpoint", "autosave"):
            self.log("info", f"{'autosaved' if tag == 'autosave' else 'saved'} step {result['step']} to {result['path']}")
        self.statusBar().showMessage(f"{tag}: {result.get('path', '')}", 4000)

    # == training ======================================================================================
    def start_training(self, fresh: bool = True) -> None:
        if self.current is None:
            self.show_error("Nothing to train", "Open a mesh or point cloud first.")
            return
        cfg = self.model_panel.config()
        self.worker.preview_resolution = self.model_panel.preview_resolution()
        self.worker.slices = self.slices_panel.enabled()
        if fresh:
            self.loss_panel.clear()
        self._it_rate = (None, None, 0.0)
        self._set_busy("Preparing…")
        self.worker.start_training(cfg, fresh, self.model_panel.budget())

    def toggle_pause(self) -> None:
        if self.worker.paused:
            self.worker.resume()
        elif self.worker.training:
            self.worker.pause()

    def stop_training(self) -> None:
        if self.worker.training:
            self.log("info", "stopping")
            self.worker.stop()

    def _on_state(self, state: str) -> None:
        self.state = state
        menus.update_enabled(self)
        if state == "training":
            self.status_state.setText("Training")
            self.autosave_timer.start()
        elif state == "paused":
            self.status_state.setText("Paused")
        elif state == "idle":
            self.status_progress.setMaximum(1000)
            self.autosave_timer.stop()
            if self.status_state.text() in ("Training", "Paused", "Preparing…"):
                self.status_state.setText("Stopped" if self.worker.session is not None else "Ready")

    def _show_progress(self, snap) -> None:
        step0, el0, rate = self._it_rate
        if step0 is not None and snap.elapsed > el0 + 0.5:
            rate = (snap.step - step0) / (snap.elapsed - el0)
            self._it_rate = (snap.step, snap.elapsed, rate)
        elif step0 is None or snap.step < step0:
            self._it_rate = (snap.step, snap.elapsed, rate)
        self.status_progress.setMaximum(1000)
        self.status_progress.setValue(int(snap.progress * 1000))
        total = f" / {snap.total_steps}" if snap.total_steps else ""
        self.status_step.setText(f"step {snap.step}{total}")
        self.status_rate.setText(f"{rate:.1f} it/s" if rate else "")
        eta = snap.elapsed * (1 - snap.progress) / snap.progress if snap.progress > 0.01 else None
        self.status_time.setText(f"{_hms(snap.elapsed)} elapsed" + (f", ETA {_hms(eta)}" if eta is not None and not snap.done else ""))
        if snap.done:
            self.status_state.setText("Stopped" if snap.message == "stopped" else "Done")

    def _set_busy(self, text: str) -> None:
        self.status_state.setText(text)
        self.status_progress.setMaximum(0)  # indeterminate

    def _on_frame(self, f: Frame) -> None:
        if self._closed:
            return
        t0 = time.perf_counter()
        if f.losses:
            self.loss_panel.add(f.losses)
        if f.snapshot is not None:
            self._show_progress(f.snapshot)
        vp = self.viewport
        if f.surface is not None:
            first = not self.surface_shown()
            if first:
                self._first_surface()
            vp.set_surface(f.surface)
            self.surface_updates.append(t0)
            if first:
                menus.update_enabled(self)  # what needs a surface (Compare with Poisson) can start now
        elif f.no_surface:
            vp.set_surface(None)
        enabled = self.slices_panel.enabled()
        for axis, s in f.slices.items():
            if axis in enabled:
                vp.set_slice(s, f.slice_limit)
        self.slot_seconds.append(time.perf_counter() - t0)
        if f.final:
            self.loss_panel.flush()  # the whole curve with the final surface, not a timer tick later
            vp.render_now()  # draw now: the final picture is what a scripted run saves
            self.final_drawn.emit()

    # == slices and display ============================================================================
    def _slices_changed(self, enabled: dict) -> None:
        for a in range(3):
            if a not in enabled:
                self.viewport.hide_slice(a)
            elif self.worker.field is not None:  # show the last one at once; the new one follows
                self.viewport.unhide(f"slice_{'xyz'[a]}")
                self.viewport.unhide(f"contour_{'xyz'[a]}")
        self.worker.slices = enabled
        self._slice_timer.start()

    def _send_slices(self) -> None:
        if self.worker.field is not None and self.worker.slices and (self.worker.session is None
                                                                     or self.worker.session.trainer.state.step > 0):
            self.worker.request_slices()

    def _input_style(self, style: str, opacity: float) -> None:
        if self.current is not None:
            if style == "until_fitted":
                style = "points" if not self.viewport.visible("surface") else "hidden"
            self.viewport.set_input(self.current.points, self.current.cells, style, opacity)

    def _first_surface(self) -> None:
        """The first surface of a shape: 'points until fitted' now hides the input."""
        if self.data_panel.input_style() == "until_fitted":
            self.viewport.remove("input")

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
        self.data_panel.restore(s)
        self.model_panel.restore(s)
        self.slices_panel.restore(s)
        if self.tabs is not None and s.get("window/mode", "shape") == "image":
            self.tabs.setCurrentIndex(1)
        self.viewport.up_axis = 2 if s.get("view/up", "Y") == "Z" else 1
        menus.refresh_recent(self)
        menus.sync_checks(self)

    def save_settings(self) -> None:
        s = self.settings
        s.set("window/geometry", self.saveGeometry())
        s.set("window/state", self.saveState())
        self.data_panel.save(s)
        self.model_panel.save(s)
        if self.cloud is not None and self._mesh_config is not None:  # a cloud's picks are not the user's choice
            import json

            s.set("train/config", json.dumps(self._mesh_config.to_dict()))
        self.slices_panel.save(s)
        s.set("view/up", "Z" if self.viewport.up_axis == 2 else "Y")
        s.sync()

    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:  # noqa: N802
        if self._closed:
            ev.accept()
            return
        self.save_settings()
        self.autosave_timer.stop()
        if self.worker.training:
            self.log("info", "closing: stopping training")
            self.autosave()  # keep the running work
        self.worker.shutdown()
        self._closed = True
        logging.getLogger("inrview").removeHandler(self._log_handler)
        if self.image_mode is not None:
            self.image_mode.shutdown()  # its worker thread too must end before the process does
        self.viewport.close()  # the plotter is closed explicitly, after the worker has stopped
        ev.accept()


def _hms(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
