"""Opening files: the open dialog, drag and drop, the recent list, and showing what the worker loaded.

A mixin of the main window (window.py). Loading happens on the worker; a failure leaves everything as it was.
"""
from __future__ import annotations

import time
from pathlib import Path

from PyQt6 import QtGui, QtWidgets

from . import actions as menus
from .worker import Opened


class OpeningMixin:
    def open_dialog(self) -> None:
        from .dialogs import IMAGE_FILTER, OPEN_FILTER

        filters = OPEN_FILTER + (IMAGE_FILTER if self.image_mode is not None else "")
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a shape, checkpoint or image",
                                                        self.settings.last_dir(), filters)
        if path:
            self.open_path(path)

    def _detect_renderer(self) -> None:
        if getattr(self, "_renderer", None):
            return
        self._renderer = self.viewport.renderer_name()
        if not self._renderer:
            return  # no GL context yet; asked again at the next file
        if self.viewport.software_rendering:
            # a CPU rasteriser draws roughly a million triangles a second on two busy cores: keep each frame
            # of the view well under 100 ms
            self.worker.max_display_faces = 40_000
        self.log("info", f"drawing with {self._renderer}")

    def open_path(self, path: str | Path) -> bool:
        """Open a mesh, point cloud or checkpoint (asks first when training is running); pictures go to the
        image mode."""
        path = str(path)
        if self.is_image(path):
            self.tabs.setCurrentIndex(1)
            self.image_mode.open_image(path)
            self.settings.add_recent(path)
            menus.refresh_recent(self)
            return True
        if self.tabs is not None and self.tabs.currentIndex() != 0:
            self.tabs.setCurrentIndex(0)
        self._detect_renderer()
        if self.worker.training:
            if not self.confirm("Training is running", f"Stop training and open {Path(path).name}?"):
                self.log("info", f"kept training; did not open {path}")
                return False
            self.log("info", "stopping training to open another file")
        self._set_busy(f"Opening {Path(path).name}…")
        self.worker.preview_resolution = self.model_panel.preview_resolution()
        self.worker.open_file(path, self.model_panel.config(), self.data_panel.normals_mode())
        return True

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

    def _on_opened(self, o: Opened) -> None:
        if self._closed:
            return
        self._detect_renderer()
        self.current = o
        self._opened_at = time.perf_counter()
        vp = self.viewport
        self._show_cloud(o.cloud)  # normals, glyphs and the network picked for a point cloud; no comparison
        for name in ("surface", "slice_x", "slice_y", "slice_z", "contour_x", "contour_y", "contour_z"):
            vp.hide(name)
        style = self.data_panel.input_style()
        vp.set_input(o.points, o.cells, "points" if style == "until_fitted" else style,
                     self.data_panel.opacity.value() / 100)
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
            self.log("warning", f"{Path(o.path).name}: {n}")
        self.log("info", f"opened {o.path} ({'trainable' if o.trainable else 'view and export only'}, on {o.device})")
        self._check_autosave(o)
        self.settings.add_recent(o.path)
        menus.refresh_recent(self)
        self.setWindowTitle(f"inrview — {Path(o.path).name}")
        self.status_device.setText(o.device)
        self.status_step.setText(f"step {o.steps_done}" if o.steps_done else "")
        self.status_state.setText("Ready")
        self.file_opened.emit(o.path)

    def _check_autosave(self, o: Opened) -> None:
        p = self.settings.autosave_path(o.path)
        if o.kind == "shape" and p.exists():
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(p.stat().st_mtime))
            self.log("info", f"an autosave of this shape from {when} exists: open {p} to continue it")
