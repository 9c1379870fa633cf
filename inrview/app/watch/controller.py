"""Watching the network learn: a time-lapse of the view, the training samples the network sees,
where its surface and slices are wrong, probing the field with a click, and exporting the best checkpoint.

A controller of the 3D tab beside the shape controller: it sets what the shape worker computes for each
preview (shape/inspect.py, flags on `worker.inspect`), draws what comes back in the frames (draw.py) and
asks the worker for probes. Its actions live in the Inspect menu; Record and Probe are on the toolbar too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt6 import QtWidgets

from ..common.actions import make_action
from ..common.controller import Controller
from ..common.timelapse import DEFAULT_FRAMES, Recorder, formats, write_frames
from . import draw

#: The time-lapse's frames: rendered off-screen at this size, whatever the window's.
FRAME_SIZE = (480, 360)
FPS = 10


class WatchController(Controller):
    def __init__(self, window):
        super().__init__(window)
        self.shape = shape = window.shape
        self.worker, self.vp = shape.worker, window.viewport
        self.bars = draw.Bars(self.vp)
        self.recorder: Recorder | None = None
        self.progress = 0.0
        self.last_probe: dict | None = None
        self.saved_timelapses: list[str] = []
        self._press: tuple | None = None
        self._build_actions()
        self.worker.frame.connect(self._on_frame)  # after the shape controller's slot: the surface is drawn
        self.worker.state.connect(self._on_state)
        shape.input_changed.connect(self._new_input)
        iren = self.vp.iren
        if iren is not None:
            iren.add_observer("LeftButtonPressEvent", self._mouse_down)
            iren.add_observer("LeftButtonReleaseEvent", self._mouse_up)

    def _build_actions(self) -> None:
        w, SP = self.window, QtWidgets.QStyle.StandardPixmap
        self.act_record = make_action(
            w,
            "&Record time-lapse",
            self._record_toggled,
            "Ctrl+R",
            "Keep frames of the view while training; save them as a GIF or MP4 at the end",
            SP.SP_DialogYesButton,
            checkable=True,
        )
        self.frames_spin = QtWidgets.QSpinBox(minimum=10, maximum=1000, value=DEFAULT_FRAMES, suffix=" frames")
        self.frames_spin.setToolTip("How many frames the time-lapse spreads over the run")
        self.act_samples = make_action(
            w,
            "Show training &samples",
            self._samples_toggled,
            "Ctrl+1",
            "Draw a subset of the samples the network is trained on",
            checkable=True,
        )
        self.act_by_loss = make_action(
            w,
            "Colour samples by &loss",
            self._samples_toggled,
            None,
            "Colour the samples by their current loss |f - target| instead of their "
            "target (inside / surface / outside)",
            checkable=True,
        )
        self.act_errors = make_action(
            w,
            "Colour by &error",
            self._errors_toggled,
            "Ctrl+2",
            "Colour the surface by its distance to the input, and the slices by their "
            "error against the exact signed distance (mesh input)",
            checkable=True,
        )
        self.act_probe = make_action(
            w,
            "&Probe",
            self._probe_toggled,
            "Ctrl+3",
            "Click the surface or a slice to read the field, the exact value and |grad f|",
            SP.SP_DialogHelpButton,
            checkable=True,
        )
        self._build_export_actions()

    def _build_export_actions(self) -> None:
        self.act_best = make_action(
            self.window,
            "Export &best checkpoint…",
            self.export_best_dialog,
            None,
            "Save the weights with the best live measure of this run",
        )
        self.act_export_errors = make_action(
            self.window,
            "Export &error colours (PLY)…",
            self.export_errors_dialog,
            None,
            "Write the surface with its error colours as vertex colours (opens in MeshLab, Blender, CloudCompare)",
        )

    def file_actions(self) -> list:
        return [self.act_best, self.act_export_errors]

    def add_menus(self, menubar) -> None:
        m = menubar.addMenu("&Inspect")
        for a in (self.act_samples, self.act_by_loss, self.act_errors, self.act_export_errors, self.act_probe, None):
            m.addAction(a) if a is not None else m.addSeparator()
        m.addAction(self.act_record)

    def add_to_toolbar(self, toolbar) -> None:
        toolbar.addSeparator()
        toolbar.addAction(self.act_record)
        toolbar.addWidget(self.frames_spin)
        toolbar.addAction(self.act_probe)

    def update_actions(self) -> None:
        session = self.worker.session
        self.act_best.setEnabled(getattr(session, "best", None) is not None and self.shape.state != "busy")
        self.act_by_loss.setEnabled(self.act_samples.isChecked())
        self.act_export_errors.setEnabled(self.act_errors.isChecked())

    def on_done(self, tag: str, result) -> bool:
        if tag != "probe":
            return False
        self.show_probe(result)
        return True

    # == the views ===================================================================================
    def _samples_toggled(self, *_) -> None:
        self.worker.inspect.samples = self.act_samples.isChecked()
        if not self.act_samples.isChecked():
            draw.hide_samples(self.vp, self.bars)
        self.update_actions()
        self._refresh()

    def _errors_toggled(self, on: bool) -> None:
        self.worker.inspect.errors = bool(on)
        if not on:
            draw.color_surface(self.vp, self.bars, None)
            draw.slice_error_bar(self.bars, None, "")
        self.update_actions()
        self._refresh()

    def _refresh(self) -> None:
        """A preview now (when not training, none would come)."""
        if self.worker.field is not None and not self.worker.training:
            self.worker.request_slices()

    def _on_frame(self, f) -> None:
        if self.window.closed:
            return
        if f.snapshot is not None:
            self.progress = f.snapshot.progress
        v = f.views
        if "samples" in v and self.act_samples.isChecked():
            draw.draw_samples(self.vp, self.bars, v["samples"], self.act_by_loss.isChecked())
        if "error" in v and self.act_errors.isChecked():
            draw.color_surface(self.vp, self.bars, v["error"])
        if f.slices and self.act_errors.isChecked():
            draw.slice_error_bar(self.bars, v.get("slice_error_limit"), self._units())
        if "measures" in v:
            self.shape.add_measures(f.snapshot.step if f.snapshot else None, v["measures"])
        if self.recorder is not None and (f.surface is not None or f.final):
            self.recorder.offer(1.0 if f.final else self.progress, self.grab, f.final)
            if f.final:
                self.finish_recording()

    def _units(self) -> str:
        s = self.worker.session
        return s.geometry.units if s is not None else "input units"

    def _new_input(self, _cloud) -> None:
        self.recorder = None
        self.last_probe = None
        draw.clear_probe(self.vp)
        draw.hide_samples(self.vp, self.bars)
        for role in ("error", "slices"):
            self.bars.hide(role)
        self.update_actions()

    # == time-lapse ==================================================================================
    def _record_toggled(self, on: bool) -> None:
        if not on:
            self.recorder = None
        elif self.worker.training:
            self.recorder = Recorder(self.frames_spin.value(), start=self.progress)
        self.window.log("info", "recording a time-lapse" if on else "time-lapse recording off")

    def _on_state(self, state: str) -> None:
        if state == "training" and self.act_record.isChecked() and self.recorder is None:
            self.recorder = Recorder(self.frames_spin.value(), start=0.0)
            self.progress = 0.0
        self.update_actions()

    def grab(self) -> np.ndarray:
        """The view as the user sees it (camera, layers, colours), rendered off-screen at FRAME_SIZE."""
        return self.vp.export_image(*FRAME_SIZE)

    def finish_recording(self) -> None:
        """The run ended: ask where to save the time-lapse and write it."""
        rec, self.recorder = self.recorder, None
        self.act_record.setChecked(False)
        if rec is None or len(rec.frames) < 2:
            self.window.log("warning", "the time-lapse has fewer than two frames: nothing saved")
            return
        path = self.ask_timelapse_path()
        if not path:
            return
        try:
            n = write_frames(path, rec.frames, FPS)
        except Exception as err:
            self.window.show_error("Cannot save the time-lapse", f"{path}: {err}")
            return
        self.saved_timelapses.append(path)
        self.window.log("info", f"saved a time-lapse of {n} frames to {path}")

    def ask_timelapse_path(self) -> str | None:
        from ..common.dialogs import save_path

        current = self.shape.current
        stem = Path(current.path).stem if current else "inrview"
        return save_path(
            self.window, self.window.settings, "Save time-lapse", formats(), f"{stem}-timelapse.gif", "timelapse"
        )

    # == probing =====================================================================================
    def _probe_toggled(self, on: bool) -> None:
        if not on:
            draw.clear_probe(self.vp)
            self.window.status.showMessage("")

    def _mouse_down(self, *_) -> None:
        self._press = tuple(self.vp.iren.get_event_position()) if self.act_probe.isChecked() else None

    def _mouse_up(self, *_) -> None:
        pos = tuple(self.vp.iren.get_event_position())
        if self._press is not None and max(abs(a - b) for a, b in zip(pos, self._press)) <= 3:
            self.probe_at_display(*pos)  # a click, not a drag (drags rotate the view)
        self._press = None

    def probe_at_display(self, x: int, y: int) -> bool:
        """Probe the field where display pixel (x, y) shows the surface or a slice; False when nothing is there."""
        point = draw.pick(self.vp, x, y)
        if point is None or self.worker.field is None:
            return False
        self.probe(point)
        return True

    def probe(self, point) -> None:
        """Ask the worker for the field's value, exact value and gradient norm at a world point (3,)."""
        self.worker.post("probe", self.worker.inspect.probe, np.asarray(point, float))

    def show_probe(self, result: dict) -> None:
        self.last_probe = result
        lo, hi = (np.asarray(c) for c in self.shape.current.domain) if self.shape.current else (-np.ones(3), np.ones(3))
        text = draw.draw_probe(self.vp, result, 0.008 * float(np.linalg.norm(hi - lo)))
        self.window.status.showMessage(text.replace("\n", ": "))

    # == exports =======================================================================================
    def export_errors_dialog(self) -> None:
        from ..common.dialogs import save_path

        stem = Path(self.shape.current.path).stem if self.shape.current else "surface"
        path = save_path(
            self.window, self.window.settings, "Export error colours", "PLY (*.ply)", f"{stem}-error.ply", "mesh"
        )
        if path:
            self.export_errors(path)

    def export_errors(self, path: str) -> bool:
        """Write the surface with its error colours as a PLY of vertex colours; False (and a message) when the
        surface is not coloured by error."""
        colored = draw.error_colors(self.vp)
        if colored is None:
            self.window.show_error("No error colours", "Turn on Inspect > Colour by error and wait for a surface.")
            return False
        try:
            draw.write_colored_ply(path, *colored)
        except OSError as err:
            self.window.show_error("Cannot export the error colours", f"{path}: {err}")
            return False
        self.window.log("info", f"wrote {len(colored[0])} vertices with their error colours to {path}")
        return True

    def export_best_dialog(self) -> None:
        from ..common.dialogs import save_path

        path = save_path(
            self.window,
            self.window.settings,
            "Export the best checkpoint",
            "Checkpoint (*.safetensors)",
            "best.safetensors",
            "checkpoint",
        )
        if path:
            self.export_best(path)

    def export_best(self, path: str) -> None:
        self.worker.post("checkpoint", self.worker.inspect.save_best, str(path))
