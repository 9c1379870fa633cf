"""The Runs controller: records every fit of the app in the history of runs, and reopens, continues and
compares recorded runs (the 2D tab's fits are recorded by image_runs.py and listed here too).

A run begins when the shape worker starts training and ends with the end-of-run surface (or a failure). Its
record holds the dock's settings, the loss curve seen on the way, the final loss, wall seconds and two
outputs in the run's own folder: the final surface (a PLY in the input's units, written here from the frame
already on screen) and a checkpoint (saved by the shape worker, which owns the network).
"""

from __future__ import annotations

import time
from pathlib import Path

from PyQt6 import QtCore

from ...runs import RunStore
from ..common.controller import Controller, Dock
from .image_runs import ImageRuns
from .panel import COMPARE_COLORS, RunsPanel

#: The viewport layers of the two compared runs.
COMPARE_LAYERS = ("run_a", "run_b")
#: The current network's and input's layers, hidden while two runs are compared.
HIDDEN_WHILE_COMPARING = ("input", "surface", "slice_x", "slice_y", "slice_z", "contour_x", "contour_y", "contour_z")


class Recording:
    """What is gathered while a run of the app trains."""

    def __init__(self, source: str, settings: dict, start_step: int, continued: bool):
        self.source, self.settings, self.start_step, self.continued = source, settings, start_step, continued
        self.t0 = time.perf_counter()
        self.curve: list[tuple[int, float]] = []
        self.last = None  # the last trainer snapshot
        self.surface = None  # the last surface frame


class RunsController(Controller):
    recorded = QtCore.pyqtSignal(object)  # a Run was added to the history

    def __init__(self, window):
        super().__init__(window)
        shape = window.shape  # built before this controller: its worker trains what is recorded
        self.shape, self.worker, self.viewport = shape, shape.worker, shape.viewport
        self.store = RunStore()
        self.panel = RunsPanel()
        self.recording: Recording | None = None
        self.compared: list = []
        self._hidden: list[str] = []  # layers hidden by the comparison, shown again when it is cleared
        self._continue_path: str | None = None
        self._start: tuple | None = None  # (step, settings, source) when the worker began training
        # read on the worker thread as it starts (a queued slot would see the first steps already taken)
        self.worker.state.connect(self._note_start, QtCore.Qt.ConnectionType.DirectConnection)
        self.worker.state.connect(self._on_state)
        self.worker.frame.connect(self._on_frame)
        shape.training_failed.connect(self._on_failed_run)
        shape.file_opened.connect(self._on_opened)
        p = self.panel
        p.filter_changed.connect(lambda _: self.refresh())
        p.buttons["reopen"].clicked.connect(lambda: self.reopen(self._one()))
        p.buttons["continue"].clicked.connect(lambda: self.continue_run(self._one()))
        p.buttons["compare"].clicked.connect(lambda: self.compare(p.selected_ids()))
        p.buttons["clear"].clicked.connect(self.clear_comparison)
        p.buttons["remove"].clicked.connect(self.remove_selected)
        p.table.itemSelectionChanged.connect(self.update_actions)
        self.images = None  # the 2D tab's fits, recorded too when the tab is there
        image = getattr(window, "image", None)
        if image is not None and image.available:
            self.images = ImageRuns(image, self.store, p.record.isChecked, window.log, self)
            self.images.recorded.connect(self._recorded_elsewhere)
        self.refresh()

    # == the window's hooks ============================================================================
    def docks(self) -> list:
        return [Dock("runs", "Runs", self.panel, "bottom", tab_with="compare")]

    def update_actions(self) -> None:
        ids, b = self.panel.selected_ids(), self.panel.buttons
        b["reopen"].setEnabled(len(ids) == 1)
        kinds = {r.kind for r in self.panel.runs if r.id in ids}
        b["continue"].setEnabled(len(ids) == 1 and not self.worker.training and "image" not in kinds)
        b["compare"].setEnabled(len(ids) == 2 and "image" not in kinds)  # compared: surfaces and their losses
        b["remove"].setEnabled(bool(ids))
        b["clear"].setEnabled(bool(self.compared))

    def on_done(self, tag: str, result) -> bool:
        if tag != "run":
            return False
        self.window.log("info", f"kept the run's checkpoint at step {result['step']}: {result['path']}")
        return True

    def on_failed(self, tag: str, message: str) -> bool:
        if tag != "run":
            return False
        self.window.log("warning", f"the run's checkpoint was not kept: {message}")
        return True

    def restore_settings(self, s) -> None:
        self.panel.record.setChecked(str(s.get("runs/record", "true")).lower() != "false")

    def save_settings(self, s) -> None:
        s.set("runs/record", "true" if self.panel.record.isChecked() else "false")

    # == recording =====================================================================================
    def _note_start(self, state: str) -> None:
        """Worker thread: the session's step and settings at the moment training begins."""
        s = self.worker.session
        if state == "training" and s is not None:
            self._start = (int(s.trainer.state.step), s.cfg.to_dict(), str(s.geometry.source or ""))

    def _on_state(self, state: str) -> None:
        if state == "training" and self.recording is not None:
            self._record("stopped")  # the previous run ended without its final surface (replaced mid-run)
        start = None
        if state == "training":  # only then: a queued earlier state may arrive after training already began
            start, self._start = self._start, None
        if state == "training" and start is not None and self.panel.record.isChecked():
            step, settings, source = start
            current = self.shape.current
            self.recording = Recording(source or (current.path if current else ""), settings, step, continued=step > 0)
        self.update_actions()

    def _on_frame(self, f) -> None:
        rec = self.recording
        if rec is None:
            return
        for step, losses in f.losses:
            total = losses.get("total")
            if total is not None and (not rec.curve or rec.curve[-1][0] != step):
                rec.curve.append((int(step), float(total)))
        if f.snapshot is not None:
            rec.last = f.snapshot
        if f.surface is not None:
            rec.surface = f.surface
        if f.final and not self.worker.training:  # the end-of-run surface (it arrives after the last step)
            self._record("finished")

    def _on_failed_run(self, message: str) -> None:
        if self.recording is not None:
            self._record("failed")

    def _record(self, status: str) -> None:
        from ...io.export import save_mesh

        rec, self.recording = self.recording, None
        last = rec.last
        if status == "finished" and last is not None and last.progress < 1.0:
            status = "stopped"
        folder = self.store.new_folder()
        outputs = {}
        if rec.surface is not None and rec.surface.n_faces:
            mesh = folder / "surface.ply"
            try:
                save_mesh(mesh, rec.surface.points, rec.surface.cells.reshape(-1, 4)[:, 1:])
                outputs["mesh"] = mesh
            except Exception as err:  # the record is still worth keeping
                self.window.log("warning", f"{mesh}: the run's surface was not kept ({err})")
        if self.worker.session is not None:
            outputs["checkpoint"] = folder / "checkpoint.safetensors"
            self.worker.save_checkpoint(str(outputs["checkpoint"]), tag="run")
        measures = {"final_loss": rec.curve[-1][1]} if rec.curve else {}
        if rec.surface is not None:
            measures["faces"] = rec.surface.n_faces
        run = self.store.add(
            command="app continue" if rec.continued else "app fit",
            kind="shape" if self.worker.session is None or self.worker.session.geometry.is_mesh else "cloud",
            source=rec.source,
            status=status,
            steps=int(last.step) if last is not None else rec.start_step,
            seconds=time.perf_counter() - rec.t0,
            folder=folder,
            settings={**rec.settings, "start_step": rec.start_step},
            measures=measures,
            outputs=outputs,
            curve=rec.curve,
        )
        self.window.log("info", f"recorded run {run.name} ({status}, {run.steps} steps)")
        self.refresh()
        self.recorded.emit(run)

    def _recorded_elsewhere(self, run) -> None:
        self.refresh()
        self.recorded.emit(run)

    # == the list ======================================================================================
    def refresh(self) -> None:
        text = self.panel.filter.text().strip()
        runs = self.store.list()
        if text:
            t = text.lower()
            runs = [r for r in runs if t in f"{r.source} {r.command} {r.label} {r.model} {r.status}".lower()]
        self.panel.show_runs(runs)
        self.update_actions()

    def _one(self):
        ids = self.panel.selected_ids()
        return self.store.get(ids[0]) if len(ids) == 1 else None

    def remove_selected(self) -> None:
        ids = self.panel.selected_ids()
        if ids and self.window.confirm("Remove runs", f"Forget {len(ids)} run(s) and delete their kept files?"):
            for i in ids:
                self.store.remove(i)
            self.refresh()

    # == reopen, continue, compare =====================================================================
    def reopen(self, run) -> bool:
        """Open the run's checkpoint where it belongs (a shape's in the view, a picture's in the 2D tab), else
        its mesh or fitted picture when the checkpoint is gone."""
        if run is None:
            return False
        path = run.output("checkpoint") or run.output("mesh") or run.output("image")
        if path is None:
            self.window.show_error("Cannot reopen", f"run {run.name}: none of its outputs is left on disk")
            return False
        return self.window.open_path(str(path))

    def continue_run(self, run) -> bool:
        """Open the run's checkpoint, then train it further with the budget in the Model & training dock."""
        path = None if run is None else run.output("checkpoint")
        if path is None:
            if run is not None:
                self.window.show_error("Cannot continue", f"run {run.name}: its checkpoint is not on disk")
            return False
        self._continue_path = str(path)
        return self.window.open_path(str(path))

    def _on_opened(self, path: str) -> None:
        if self.recording is not None:
            self._record("stopped")  # another file was opened while the run trained
        if self._continue_path is not None and Path(path) == Path(self._continue_path):
            self._continue_path = None
            QtCore.QTimer.singleShot(0, lambda: self.shape.start_training(fresh=False))

    def compare(self, ids) -> bool:
        """Overlay the surfaces of two runs in the view (each its colour, translucent) and plot their losses."""
        import pyvista as pv

        runs = [self.store.get(i) for i in sorted(ids)][:2]  # the older run is A
        if len(runs) != 2:
            return False
        meshes = []
        for run in runs:
            path = run.output("mesh")
            if path is None:
                self.window.show_error("Cannot compare", f"run {run.name}: its surface is not on disk")
                return False
            meshes.append(pv.read(str(path)))
        self.clear_comparison()
        # the view shows the two runs alone until the comparison is cleared
        self._hidden = [n for n in HIDDEN_WHILE_COMPARING if self.viewport.visible(n)]
        for name in self._hidden:
            self.viewport.hide(name)
        for name, mesh, color in zip(COMPARE_LAYERS, meshes, COMPARE_COLORS):
            self.viewport.set_layer(name, mesh, color=color, opacity=0.6, smooth_shading=True, specular=0.2)
        self.compared = runs
        self.viewport.reset_view()
        self.viewport.render_now()
        self.panel.show_curves(runs)
        self.window.log(
            "info", f"comparing {runs[0].name} ({COMPARE_COLORS[0]}) with {runs[1].name} ({COMPARE_COLORS[1]})"
        )
        self.update_actions()
        return True

    def clear_comparison(self) -> None:
        for name in COMPARE_LAYERS:
            self.viewport.remove(name)
        for name in self._hidden:
            self.viewport.unhide(name)
        self._hidden = []
        self.compared = []
        self.panel.clear_curves()
        self.viewport.request_render()
        self.update_actions()
