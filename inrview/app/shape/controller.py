"""3D shapes: opening meshes, point clouds and checkpoints, training them with the live view, and what the
shape worker sends back (progress, surfaces, slices).

Every slot runs on the GUI thread and only updates widgets and actors in place; loading, training and
everything that reads the network happen on the shape worker (worker.py) and come back as its signals. Exports
and autosave are in exports.py; a point cloud's normals and its comparison with Poisson in ../cloud/.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from PyQt6 import QtCore, QtWidgets

from ..common.controller import Controller, Dock
from ..common.frames import Frame
from ..common.loss_panel import LossPanel
from ..common.slices_panel import SlicesPanel
from .actions import build_actions
from .data_panel import DataPanel
from .exports import Exports
from .model_panel import ModelPanel
from .state import Opened
from .worker import SessionWorker

LAYERS_OF_A_NETWORK = ("surface", "slice_x", "slice_y", "slice_z", "contour_x", "contour_y", "contour_z")
TITLES = {
    "open": "Cannot open file",
    "train": "Training failed",
    "export": "Export failed",
    "checkpoint": "Cannot save checkpoint",
    "autosave": "Autosave failed",
    "start": "Cannot train",
}


class ShapeController(Controller):
    TAB = ("shape", "3D shapes")
    file_opened = QtCore.pyqtSignal(str)  # a file finished opening (path)
    open_failed = QtCore.pyqtSignal(str)  # the one-line message
    final_drawn = QtCore.pyqtSignal()  # the end-of-run surface is in the view
    training_failed = QtCore.pyqtSignal(str)
    input_changed = QtCore.pyqtSignal(object)  # a new file opened: its cloud.state.CloudState, or None
    normals_mode_changed = QtCore.pyqtSignal(str)  # the user picked where a cloud's normals come from

    def __init__(self, window):
        from ...training.device import describe_devices

        super().__init__(window)
        self.viewport, self.status = window.viewport, window.status
        self.worker = worker = SessionWorker()  # loads, trains and reads the network off the GUI thread
        worker.log.connect(window.log)
        worker.done.connect(window.dispatch_done)
        worker.failed.connect(window.dispatch_failed)
        self.data_panel = DataPanel()
        self.model_panel = ModelPanel(describe_devices())
        self.slices_panel = SlicesPanel()
        self.loss_panel = LossPanel()
        self.exports = Exports(self)
        self.state = "idle"
        self.current: Opened | None = None
        self.surface_updates: list[float] = []  # times (perf_counter) a new live surface was drawn
        self.slot_seconds: deque = deque(maxlen=2000)  # how long each frame slot took on the GUI thread
        self.opened_at = 0.0
        self._renderer = ""
        build_actions(self)
        worker.frame.connect(self._on_frame)
        worker.opened.connect(self._on_opened)
        worker.state.connect(self._on_state)
        self.data_panel.input_style_changed.connect(self.show_input)
        self.data_panel.layer_toggled.connect(self.viewport.show_layer)
        self.data_panel.normals_mode_changed.connect(self.normals_mode_changed)
        self.slices_panel.changed.connect(self._slices_changed)
        self.slices_panel.opacity_changed.connect(self.viewport.set_slice_opacity)
        self._slice_timer = QtCore.QTimer(self, singleShot=True, interval=30)
        self._slice_timer.timeout.connect(self._send_slices)

    # == the window's hooks ============================================================================
    def tab(self):
        return self.viewport

    def docks(self) -> list[Dock]:
        return [
            Dock("data", "Data", self.data_panel, "left", size=270),
            Dock("slices", "Slices", self.slices_panel, "left", below="data"),
            Dock("model", "Model && training", self.model_panel, "right", size=270, scroll=True, front=True),
            Dock("loss", "Loss", self.loss_panel, "bottom", tab_with="log", size=220, front=True),
        ]

    def _training_actions(self) -> tuple:
        return self.act_start, self.act_continue, self.act_pause, self.act_stop

    def file_actions(self) -> list:
        return [self.act_save_ckpt, self.act_export_mesh]

    def add_menus(self, menubar) -> None:
        tm = menubar.addMenu("&Training")
        for a in self._training_actions():
            tm.addAction(a)

    def add_to_toolbar(self, toolbar) -> None:
        toolbar.addAction(self.act_save_ckpt)
        toolbar.addSeparator()
        for a in self._training_actions():
            toolbar.addAction(a)

    def update_actions(self) -> None:
        st = self.state
        session = self.worker.session
        has_field = self.worker.field is not None
        busy = st == "busy"
        training = st in ("training", "paused")
        self.act_start.setEnabled(session is not None and not busy and not training)
        self.act_continue.setEnabled(
            session is not None and not busy and not training and session.trainer.state.step > 0
        )
        self.act_pause.setEnabled(training)
        self.act_pause.setText("&Resume" if st == "paused" else "&Pause")
        SP = QtWidgets.QStyle.StandardPixmap
        self.act_pause.setIcon(
            self.window.style().standardIcon(SP.SP_MediaPlay if st == "paused" else SP.SP_MediaPause)
        )
        self.act_stop.setEnabled(training)
        self.act_export_mesh.setEnabled(has_field and not busy)
        self.act_save_ckpt.setEnabled(has_field and not busy)
        self.model_panel.set_editable(not training and not busy)  # settings apply at the next start

    def on_done(self, tag: str, result) -> bool:
        return self.exports.on_done(tag, result)

    def on_failed(self, tag: str, message: str) -> bool:
        if tag not in TITLES:
            return False
        self.window.show_error(TITLES[tag], message)
        if tag == "open":
            self.status.state_label.setText("Ready" if self.current is None else f"Kept {Path(self.current.path).name}")
            self.open_failed.emit(message)
        if tag == "train":
            self.training_failed.emit(message)
        return True

    def restore_settings(self, s) -> None:
        for panel in (self.data_panel, self.model_panel, self.slices_panel):
            panel.restore(s)
        self.viewport.set_slice_opacity(self.slices_panel.opacity.value() / 100)

    def save_settings(self, s) -> None:
        for panel in (self.data_panel, self.model_panel, self.slices_panel):
            panel.save(s)

    def start(self) -> None:
        self.worker.start()

    def close(self) -> None:
        self.exports.close()

    def shutdown(self) -> None:
        self.worker.shutdown()

    # == what other controllers may ask (public; they never touch the docks' widgets) ===================
    def model_config(self):
        """The Model & training dock's configuration (a config.FitConfig)."""
        return self.model_panel.config()

    def set_model_config(self, cfg) -> None:
        self.model_panel.set_config(cfg)

    def set_model_cloud(self, points: int | None) -> None:
        """A point cloud of that many points is open (None: a mesh): the dock offers what suits it."""
        self.model_panel.set_cloud(points)

    def set_cloud_options(self, mode: str | None, has_glyphs: bool = False) -> None:
        """The Data dock's normals choice for a cloud (mode) or none (None), and its glyph toggle."""
        self.data_panel.set_cloud(mode, has_glyphs)

    def set_normals_mode(self, mode: str) -> None:
        """Show where the normals come from without announcing it as the user's change."""
        self.data_panel.set_normals_mode(mode)

    def enable_normals_choice(self, on: bool) -> None:
        self.data_panel.normals.setEnabled(on)

    def add_measures(self, step: int | None, measures: dict) -> None:
        """Live measures of the surface, drawn under the loss."""
        self.loss_panel.add_measures(step, measures)

    # == opening =======================================================================================
    def accepts(self, path: str) -> bool:
        return True  # the window asks the other controllers first

    def open_path(self, path: str) -> bool:
        """Open a mesh, point cloud or checkpoint (asks first when training is running)."""
        self._detect_renderer()
        if self.worker.training:
            if not self.window.confirm("Training is running", f"Stop training and open {Path(path).name}?"):
                self.window.log("info", f"kept training; did not open {path}")
                return False
            self.window.log("info", "stopping training to open another file")
        self.status.busy(f"Opening {Path(path).name}…")
        self.worker.preview_resolution = self.model_panel.preview_resolution()
        self.worker.open_file(path, self.model_panel.config(), self.data_panel.normals_mode())
        return True

    def _detect_renderer(self) -> None:
        if self._renderer:
            return
        self._renderer = self.viewport.renderer_name()
        if not self._renderer:
            return  # no GL context yet; asked again at the next file
        if self.viewport.software_rendering:
            # a CPU rasteriser draws roughly a million triangles a second on two busy cores: keep each frame
            # of the view well under 100 ms
            self.worker.max_display_faces = 40_000
        self.window.log("info", f"drawing with {self._renderer}")

    def _on_opened(self, o: Opened) -> None:
        if self.window.closed:
            return
        self._detect_renderer()
        self.current = o
        self.opened_at = time.perf_counter()
        vp = self.viewport
        self.input_changed.emit(o.cloud)  # normals, glyphs and the network picked for a point cloud
        for name in LAYERS_OF_A_NETWORK:
            vp.hide(name)
        style = self.data_panel.input_style()
        vp.set_input(
            o.points, o.cells, "points" if style == "until_fitted" else style, self.data_panel.opacity.value() / 100
        )
        vp.set_domain(*o.domain)
        vp.show_layer("domain", self.data_panel.show_domain.isChecked())
        self.slices_panel.set_domain(*o.domain)
        self.worker.slices = self.slices_panel.enabled()
        vp.reset_view()
        self.data_panel.set_report(o.report_lines)
        if o.kind == "checkpoint":
            self.model_panel.set_config(o.config)
        self.loss_panel.clear()
        for n in o.notices:
            self.window.log("warning", f"{Path(o.path).name}: {n}")
        self.window.log(
            "info", f"opened {o.path} ({'trainable' if o.trainable else 'view and export only'}, on {o.device})"
        )
        self.exports.check_autosave(o)
        self.window.add_recent(o.path)
        self.window.setWindowTitle(f"inrview — {Path(o.path).name}")
        self.status.device_label.setText(o.device)
        self.status.step_label.setText(f"step {o.steps_done}" if o.steps_done else "")
        self.status.state_label.setText("Ready")
        self.file_opened.emit(o.path)

    def new_network(self, report_lines: list[str]) -> None:
        """The network was replaced (e.g. a cloud's normals were prepared again): the surface and slices on
        screen belong to the previous one, the loss curve starts over."""
        self.opened_at = time.perf_counter()
        for name in LAYERS_OF_A_NETWORK:
            self.viewport.hide(name)
        self.show_input(self.data_panel.input_style(), self.data_panel.opacity.value() / 100)
        self.data_panel.set_report(report_lines)
        self.loss_panel.clear()
        self.status.step_label.setText("")
        self.status.state_label.setText("Ready")

    # == training ======================================================================================
    def start_training(self, fresh: bool = True) -> None:
        if self.current is None:
            self.window.show_error("Nothing to train", "Open a mesh or point cloud first.")
            return
        cfg = self.model_panel.config()
        self.worker.preview_resolution = self.model_panel.preview_resolution()
        self.worker.slices = self.slices_panel.enabled()
        if fresh:
            self.loss_panel.clear()
        self.status.restart_rate()
        self.status.busy("Preparing…")
        self.worker.start_training(cfg, fresh, self.model_panel.budget())

    def toggle_pause(self) -> None:
        if self.worker.paused:
            self.worker.resume()
        elif self.worker.training:
            self.worker.pause()

    def stop_training(self) -> None:
        if self.worker.training:
            self.window.log("info", "stopping")
            self.worker.stop()

    def _on_state(self, state: str) -> None:
        self.state = state
        self.window.update_actions()
        label = self.status.state_label
        if state == "training":
            label.setText("Training")
            self.exports.autosave_timer.start()
        elif state == "paused":
            label.setText("Paused")
        elif state == "idle":
            self.status.progress.setMaximum(1000)
            self.exports.autosave_timer.stop()
            if label.text() in ("Training", "Paused", "Preparing…"):
                label.setText("Stopped" if self.worker.session is not None else "Ready")

    def surface_shown(self) -> bool:
        """A surface of the current network has been drawn since the file (or its normals) opened."""
        return bool(self.surface_updates) and self.surface_updates[-1] >= self.opened_at

    def _on_frame(self, f: Frame) -> None:
        if self.window.closed:
            return
        t0 = time.perf_counter()
        if f.losses:
            self.loss_panel.add(f.losses)
        if f.snapshot is not None:
            self.status.show_progress(f.snapshot)
        vp = self.viewport
        if f.surface is not None:
            first = not self.surface_shown()
            if first and self.data_panel.input_style() == "until_fitted":
                vp.remove("input")  # the first surface of a shape: 'points until fitted' now hides the input
            vp.set_surface(f.surface)
            self.surface_updates.append(t0)
            if first:
                self.window.update_actions()  # what needs a surface (Compare with Poisson) can start now
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
        w = self.worker
        if w.field is not None and w.slices and (w.session is None or w.session.trainer.state.step > 0):
            w.request_slices()

    def show_input(self, style: str, opacity: float) -> None:
        """Draw the input as the Data dock says ('until_fitted': points until a surface is shown)."""
        if self.current is not None:
            if style == "until_fitted":
                style = "points" if not self.viewport.visible("surface") else "hidden"
            self.viewport.set_input(self.current.points, self.current.cells, style, opacity)
