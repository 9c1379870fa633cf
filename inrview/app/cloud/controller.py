"""Point clouds in the window: the normals choice and glyphs, Compare with Poisson, the reference mesh and the
Poisson export.

Every slot runs on the GUI thread and only updates widgets and actors; the work (normals, Poisson, measures,
loading the reference, writing files) is queued to the shape worker's cloud commands (commands.py), and a
failure there leaves the window's state as it was. The shape controller opens the cloud and trains it; this one
hears about each new file through its `input_changed` signal and uses its docks through public methods.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from PyQt6 import QtGui

from ..common.actions import make_action
from ..common.controller import Controller, Dock
from ..common.dialogs import MESH_FILTER, MESHES_FILTER, open_file, save_path
from .panel import ComparePanel
from .state import VIEW_MODES
from .view import CompareView

TITLES = {
    "normals": "Cannot prepare the normals",
    "compare": "Compare with Poisson failed",
    "reference": "Cannot use the reference mesh",
    "export_poisson": "Cannot export the Poisson mesh",
}


class CloudController(Controller):
    def __init__(self, window):
        super().__init__(window)
        self.shape = shape = window.shape
        self.worker, self.status, self.viewport = shape.worker, window.status, window.viewport
        self.commands = shape.worker.cloud  # runs on the worker thread
        self.view = CompareView(self.viewport)
        self.viewport.add_extra(self.view)
        self.panel = ComparePanel()
        self.state = None  # state.CloudState of the open point cloud (None for meshes and checkpoints)
        self.comparison = None  # the latest state.Comparison
        self.comparing = False  # a Compare with Poisson is queued or running
        self.compare_seconds: list[float] = []  # from the request to the table, per comparison
        self._compare_t0 = 0.0
        self._mesh_config = None  # the model dock's settings before a cloud replaced them
        self._build_actions()
        self.viewport.show_layer("normals", False)  # glyphs are hidden until asked for
        shape.input_changed.connect(self._show_cloud)
        shape.normals_mode_changed.connect(self._normals_changed)
        self.panel.mode_changed.connect(self._view_mode)
        self.commands.prepared.connect(self._on_prepared)

    # == the window's hooks ============================================================================
    def docks(self) -> list[Dock]:
        return [Dock("compare", "Compare", self.panel, "bottom", tab_with="log")]

    def _build_actions(self) -> None:
        w = self.window
        self.act_export_poisson = make_action(
            w,
            "Export &Poisson mesh…",
            self.export_poisson_dialog,
            tip="Write the screened Poisson surface of the comparison (PLY/OBJ/STL/GLB)",
        )
        self.act_compare = make_action(
            w,
            "Compare with &Poisson",
            self.compare_poisson,
            "Ctrl+B",
            "Run screened Poisson (Open3D) on the same points and measure both surfaces",
        )
        self.act_reference = make_action(
            w,
            "Set &reference mesh…",
            self.set_reference_dialog,
            tip="A mesh to measure both surfaces against (two-sided Chamfer-L1, F-score)",
        )
        self.view_mode_actions = {}
        group = QtGui.QActionGroup(w)
        for key, label in VIEW_MODES.items():
            a = make_action(w, f"Show {label}", lambda _=False, k=key: self.set_view_mode(k), checkable=True)
            a.setChecked(key == "inrview")
            group.addAction(a)
            self.view_mode_actions[key] = a
        for a in (self.act_compare, self.act_reference, self.act_export_poisson):
            self.panel.add_action_button(a)

    def file_actions(self) -> list:
        return [self.act_export_poisson]

    def add_menus(self, menubar) -> None:
        cm = menubar.addMenu("&Compare")
        cm.addAction(self.act_compare)
        cm.addAction(self.act_reference)
        cm.addSeparator()
        for a in self.view_mode_actions.values():
            cm.addAction(a)

    def update_actions(self) -> None:
        st = self.shape.state
        cloud, busy = self.state is not None, st == "busy"
        has_poisson = self.view.has_poisson
        self.act_compare.setEnabled(
            cloud and self.worker.field is not None and not busy and not self.comparing and self.shape.surface_shown()
        )
        self.act_reference.setEnabled(cloud and not busy)
        self.act_export_poisson.setEnabled(has_poisson and not busy)
        for a in self.view_mode_actions.values():
            a.setEnabled(has_poisson)
        self.shape.enable_normals_choice(cloud and not busy)

    def save_settings(self, s) -> None:
        if self.state is not None and self._mesh_config is not None:  # a cloud's picks are not the user's choice
            s.set("train/config", json.dumps(self._mesh_config.to_dict()))

    # == normals ======================================================================================
    def _show_cloud(self, state) -> None:
        """A new file (state None for a mesh or a checkpoint) or new normals: glyphs, the model dock and
        the comparison start over."""
        vp, shape = self.viewport, self.shape
        self.comparison = None
        self.comparing = False
        self.view.clear()
        self.panel.clear()
        self.view_mode_actions["inrview"].setChecked(True)
        was_cloud, self.state = self.state is not None, state
        if state is None:
            shape.set_cloud_options(None)
            vp.remove("normals")
            shape.set_model_cloud(None)
            if was_cloud and self._mesh_config is not None:
                shape.set_model_config(self._mesh_config)  # the user's mesh settings come back
            return
        if not was_cloud:
            self._mesh_config = shape.model_config()
        shape.set_cloud_options(state.mode, state.glyphs is not None)
        vp.set_glyphs("normals", state.glyphs)
        shape.set_model_cloud(state.points)
        shape.set_model_config(state.config)
        self.panel.clear(f"{state.summary}. Train, then Compare with Poisson.")

    def _normals_changed(self, mode: str) -> None:
        if self.state is None or mode == self.state.mode:
            return
        if self.worker.training:
            if not self.window.confirm("Training is running", "Stop training and prepare the normals again?"):
                self.shape.set_normals_mode(self.state.mode)
                return
        self.status.busy("Preparing normals…")
        self.commands.set_normals(mode, self.shape.model_config())

    def _on_prepared(self, state) -> None:
        if self.window.closed:
            return
        self._show_cloud(state)
        self.shape.new_network(state.report_lines)
        self.window.update_actions()

    # == Compare with Poisson =========================================================================
    def compare_poisson(self) -> None:
        if self.state is None or self.worker.field is None:
            self.window.show_error("Nothing to compare", "Open a point cloud and train it first.")
            return
        if self.comparing:
            return
        self.comparing = True
        self._compare_t0 = time.perf_counter()
        training = self.worker.training
        self.window.log(
            "info",
            f"Compare with Poisson: screened Poisson on {self.state.points} points and the "
            f"measures of both surfaces (a few seconds"
            f"{'; training pauses meanwhile' if training else ''})",
        )
        if not training:
            self.status.busy("Running screened Poisson…")
        else:
            self.status.showMessage("Running screened Poisson (training continues afterwards)…", 5000)
        self.window.update_actions()
        self.commands.compare_poisson()

    def _on_compare(self, result) -> None:
        first = not self.view.has_poisson
        if self.comparing:
            self.comparing = False
            self.compare_seconds.append(time.perf_counter() - self._compare_t0)
        if result.poisson is not None:
            self.view.set_poisson(result.poisson)
        self.comparison = result
        ref = (
            f"; reference {Path(result.reference).name}"
            if result.reference
            else "; Set reference mesh… for Chamfer and F-score"
        )
        self.panel.show_scores(
            result.scores,
            f"Poisson: depth {result.depth}, 2% density trimmed, {result.normals.removeprefix('normals: ')}{ref}",
        )
        self.panel.set_modes_enabled(True)
        for line in result.lines():
            self.window.log("info", line)
        if first:
            self.panel.set_mode("side")  # both surfaces at once the first time
        self.window.docks["compare"].raise_()
        if not self.worker.training:
            self.status.set_state("Compared")
        self.window.update_actions()

    def _view_mode(self, mode: str) -> None:
        vp = self.viewport
        before = self.view.side_by_side
        self.view.set_mode(mode)
        if before != self.view.side_by_side or mode == "poisson":
            vp.reset_view()  # the halves have another shape than the whole view
        a = self.view_mode_actions.get(mode)
        if a is not None and not a.isChecked():
            a.setChecked(True)

    def set_view_mode(self, mode: str) -> None:
        """'inrview', 'poisson' or 'side' (as the Compare dock's buttons)."""
        self.panel.set_mode(mode)

    # == the reference mesh and the export ============================================================
    def set_reference_dialog(self) -> None:
        path = open_file(self.window, "Reference mesh", MESHES_FILTER)
        if path:
            self.set_reference(path)

    def set_reference(self, path: str) -> None:
        self.window.log("info", f"loading the reference mesh {path}")
        self.commands.set_reference(path)

    def _on_reference(self, result: dict) -> None:
        self.window.log(
            "info",
            f"reference mesh {result['path']} ({result['faces']} faces): Chamfer-L1 and "
            f"F-score against it in the Compare dock",
        )
        if result.get("comparison") is not None:
            self._on_compare(result["comparison"])
        else:
            self.panel.note.setText(
                f"Reference: {Path(result['path']).name}. Compare with Poisson to measure both surfaces against it."
            )

    def export_poisson_dialog(self) -> None:
        if not self.view.has_poisson:
            self.window.show_error("Nothing to export", "Run Compare with Poisson first.")
            return
        current = self.shape.current
        stem = Path(current.path).stem if current else "cloud"
        path = save_path(
            self.window, self.window.settings, "Export Poisson mesh", MESH_FILTER, f"{stem}_poisson.ply", "mesh"
        )
        if path:
            self.commands.export_poisson(path)

    # == results from the worker ======================================================================
    def on_done(self, tag: str, result) -> bool:
        if tag == "compare":
            self._on_compare(result)
        elif tag == "reference":
            self._on_reference(result)
        elif tag == "export_poisson":
            self.window.log("info", f"exported the Poisson surface to {result['path']}: {result['faces']} faces")
            self.status.showMessage(f"export: {result['path']}", 4000)
        else:
            return False
        return True

    def on_failed(self, tag: str, message: str) -> bool:
        if tag not in TITLES:
            return False
        if tag == "normals" and self.state is not None:
            self.shape.set_normals_mode(self.state.mode)  # the previous normals are still in use
            self.status.set_state("Ready" if not self.worker.training else "Training")
        if tag == "compare":
            self.comparing = False
            if not self.worker.training:
                self.status.set_state("Ready")
        self.window.show_error(TITLES[tag], message)
        self.window.update_actions()
        return True
