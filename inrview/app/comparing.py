"""Point clouds in the window: the normals choice and glyphs, Compare with Poisson, the reference mesh and the
Poisson export.

A mixin of the main window (window.py). Every slot runs on the GUI thread and only updates widgets and actors;
the work (normals, Poisson, measures, loading the reference, writing files) is queued to the worker
(cloud_worker.py), and a failure there leaves the window's state as it was.
"""
from __future__ import annotations

import time
from pathlib import Path

from PyQt6 import QtWidgets

from . import actions as menus

TITLES = {"normals": "Cannot prepare the normals", "compare": "Compare with Poisson failed",
          "reference": "Cannot use the reference mesh", "export_poisson": "Cannot export the Poisson mesh"}


class CloudMixin:
    def _init_cloud_ui(self) -> None:
        self.cloud = None  # cloud.CloudState of the open point cloud (None for meshes and checkpoints)
        self.comparison = None  # the latest cloud.Comparison
        self.comparing = False  # a Compare with Poisson is queued or running
        self.compare_seconds: list[float] = []  # from the request to the table, per comparison
        self._compare_t0 = 0.0
        self._mesh_config = None  # the model dock's settings before a cloud replaced them
        self.viewport.show_layer("normals", False)  # glyphs are hidden until asked for
        self.data_panel.normals_mode_changed.connect(self._normals_changed)
        self.compare_panel.mode_changed.connect(self._view_mode)
        self.worker.prepared.connect(self._on_prepared)

    # == normals ======================================================================================
    def _show_cloud(self, state) -> None:
        """A new file (state None for a mesh or a checkpoint) or new normals: glyphs, the model dock and
        the comparison start over."""
        vp = self.viewport
        self.comparison = None
        self.comparing = False
        vp.compare.clear()
        self.compare_panel.clear()
        self.view_mode_actions["inrview"].setChecked(True)
        was_cloud, self.cloud = self.cloud is not None, state
        if state is None:
            self.data_panel.set_cloud(None)
            vp.remove("normals")
            self.model_panel.set_cloud(None)
            if was_cloud and self._mesh_config is not None:
                self.model_panel.set_config(self._mesh_config)  # the user's mesh settings come back
            return
        if not was_cloud:
            self._mesh_config = self.model_panel.config()
        self.data_panel.set_cloud(state.mode, state.glyphs is not None)
        vp.set_glyphs("normals", state.glyphs)
        self.model_panel.set_cloud(state.points)
        self.model_panel.set_config(state.config)
        self.compare_panel.clear(f"{state.summary}. Train, then Compare with Poisson.")

    def _normals_changed(self, mode: str) -> None:
        if self.cloud is None or mode == self.cloud.mode:
            return
        if self.worker.training:
            if not self.confirm("Training is running", "Stop training and prepare the normals again?"):
                self.data_panel.set_normals_mode(self.cloud.mode)
                return
        self._set_busy("Preparing normals…")
        self.worker.set_normals(mode, self.model_panel.config())

    def _on_prepared(self, state) -> None:
        if self._closed:
            return
        self._opened_at = time.perf_counter()  # the surface on screen belongs to the previous network
        vp = self.viewport
        self._show_cloud(state)
        for name in ("surface", "slice_x", "slice_y", "slice_z", "contour_x", "contour_y", "contour_z"):
            vp.hide(name)
        self._input_style(self.data_panel.input_style(), self.data_panel.opacity.value() / 100)
        self.data_panel.set_report(state.report_lines)
        self.loss_panel.clear()
        self.status_step.setText("")
        self.status_state.setText("Ready")
        menus.update_enabled(self)

    # == Compare with Poisson =========================================================================
    def surface_shown(self) -> bool:
        """A surface of the current network has been drawn since the file (or its normals) opened."""
        return bool(self.surface_updates) and self.surface_updates[-1] >= self._opened_at

    def compare_poisson(self) -> None:
        if self.cloud is None or self.worker.field is None:
            self.show_error("Nothing to compare", "Open a point cloud and train it first.")
            return
        if self.comparing:
            return
        self.comparing = True
        self._compare_t0 = time.perf_counter()
        n = self.cloud.points
        self.log("info", f"Compare with Poisson: screened Poisson on {n} points and the measures of both surfaces "
                         f"(a few seconds{'; training pauses meanwhile' if self.worker.training else ''})")
        if not self.worker.training:
            self._set_busy("Running screened Poisson…")
        else:
            self.statusBar().showMessage("Running screened Poisson (training continues afterwards)…", 5000)
        menus.update_enabled(self)
        self.worker.compare_poisson()

    def _on_compare(self, result) -> None:
        first = not self.viewport.compare.has_poisson
        if self.comparing:
            self.comparing = False
            self.compare_seconds.append(time.perf_counter() - self._compare_t0)
        if result.poisson is not None:
            self.viewport.compare.set_poisson(result.poisson)
        self.comparison = result
        ref = f"; reference {Path(result.reference).name}" if result.reference else \
            "; Set reference mesh… for Chamfer and F-score"
        self.compare_panel.show_scores(result.scores, f"Poisson: depth {result.depth}, 2% density trimmed, "
                                                      f"{result.normals.removeprefix('normals: ')}{ref}")
        self.compare_panel.set_modes_enabled(True)
        for line in result.lines:
            self.log("info", line)
        if first:
            self.compare_panel.set_mode("side")  # both surfaces at once the first time
        self.docks["compare"].raise_()
        if not self.worker.training:
            self.status_progress.setMaximum(1000)
            self.status_state.setText("Compared")
        menus.update_enabled(self)

    def _view_mode(self, mode: str) -> None:
        vp = self.viewport
        before = vp.compare.side_by_side
        vp.compare.set_mode(mode)
        if before != vp.compare.side_by_side or mode == "poisson":
            vp.reset_view()  # the halves have another shape than the whole view
        a = getattr(self, "view_mode_actions", {}).get(mode)
        if a is not None and not a.isChecked():
            a.setChecked(True)

    def set_view_mode(self, mode: str) -> None:
        """'inrview', 'poisson' or 'side' (as the Compare dock's buttons)."""
        self.compare_panel.set_mode(mode)

    # == the reference mesh and the export ============================================================
    def set_reference_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Reference mesh", self.settings.last_dir(),
                                                        "Meshes (*.ply *.obj *.stl *.off *.glb *.gltf);;All files (*)")
        if path:
            self.set_reference(path)

    def set_reference(self, path: str) -> None:
        self.log("info", f"loading the reference mesh {path}")
        self.worker.set_reference(path)

    def _on_reference(self, result: dict) -> None:
        self.log("info", f"reference mesh {result['path']} ({result['faces']} faces): Chamfer-L1 and F-score "
                         f"against it in the Compare dock")
        if result.get("comparison") is not None:
            self._on_compare(result["comparison"])
        else:
            self.compare_panel.note.setText(f"Reference: {Path(result['path']).name}. Compare with Poisson to "
                                            f"measure both surfaces against it.")

    def export_poisson_dialog(self) -> None:
        from .dialogs import MESH_FILTER, save_path

        if not self.viewport.compare.has_poisson:
            self.show_error("Nothing to export", "Run Compare with Poisson first.")
            return
        stem = Path(self.current.path).stem if self.current else "cloud"
        path = save_path(self, self.settings, "Export Poisson mesh", MESH_FILTER, f"{stem}_poisson.ply", "mesh")
        if path:
            self.worker.export_poisson(path)

    # == results from the worker ======================================================================
    def _cloud_done(self, tag: str, result) -> bool:
        """Handle a finished cloud command; False when the tag is not one of them."""
        if tag == "compare":
            self._on_compare(result)
        elif tag == "reference":
            self._on_reference(result)
        elif tag == "export_poisson":
            self.log("info", f"exported the Poisson surface to {result['path']}: {result['faces']} faces")
            self.statusBar().showMessage(f"export: {result['path']}", 4000)
        else:
            return False
        return True

    def _cloud_failed(self, tag: str, message: str) -> bool:
        if tag not in TITLES:
            return False
        if tag == "normals" and self.cloud is not None:
            self.data_panel.set_normals_mode(self.cloud.mode)  # the previous normals are still in use
            self.status_progress.setMaximum(1000)
            self.status_state.setText("Ready" if not self.worker.training else "Training")
        if tag == "compare":
            self.comparing = False
            if not self.worker.training:
                self.status_progress.setMaximum(1000)
                self.status_state.setText("Ready")
        self.show_error(TITLES[tag], message)
        menus.update_enabled(self)
        return True
