"""The Shape-space mode's worker thread: it owns the open Space and runs everything that reads or trains it.

DESIGN.md's threading rule: this thread never touches VTK or widgets. It decodes codes into surfaces
(marching cubes at the preview resolution, prepared as SurfaceFrames), drives the completion and training
generators one snapshot at a time, and sends the results over signals. Slider moves are coalesced: the GUI
posts the latest code and at most one decode waits in the queue; when it runs it takes the newest code, so
a worker that is behind drops the intermediate requests instead of piling them up.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PyQt6 import QtCore

from ...errors import InrviewError, NoSurfaceError
from ..common.command_thread import CommandThread, describe
from ..common.frames import SurfaceFrame, display_points, surface_frame
from .state import SpaceState

#: Points of a completion's input used for the live distance read-out (all of them for the final one).
LIVE_DISTANCE_POINTS = 2000


@dataclass(frozen=True)
class ConfidenceFrame:
    """A finished completion's surface with its per-vertex measures (space.confidence): frame (the surface
    drawn), confidence, disagreement (input units) and observed (bool), all (V,); summary (for the panel)."""

    frame: SurfaceFrame
    confidence: np.ndarray
    disagreement: np.ndarray
    observed: np.ndarray
    summary: dict


@dataclass(frozen=True)
class SurfaceUpdate:
    """A decoded surface: frame (None: the code has no surface), request (the slider request it answers, 0
    for others), seconds (decode + preparation, wall clock), source ('open' | 'morph' | 'complete'), distance
    (mean distance from the completion's points to it, input units, or None), cpu_seconds (this thread's CPU
    time for it: the cost without other processes' load)."""

    frame: SurfaceFrame | None
    request: int
    seconds: float
    source: str
    distance: float | None = None
    cpu_seconds: float = 0.0


class SpaceWorker(CommandThread):
    opened = QtCore.pyqtSignal(object)  # SpaceState
    surface = QtCore.pyqtSignal(object)  # SurfaceUpdate
    points = QtCore.pyqtSignal(object)  # (N, 3) float32: a completion's input, for drawing
    completion = QtCore.pyqtSignal(object)  # dict: step, total, loss, done (+ distance, far, message)
    confidence = QtCore.pyqtSignal(object)  # ConfidenceFrame of a finished completion's surface
    progress = QtCore.pyqtSignal(object)  # training: inrview.training.space.SpaceSnapshot
    log = QtCore.pyqtSignal(str, str)  # (level, text)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.space = None
        self.resolution = 64  # set from the GUI thread
        self.requests = 0  # slider requests posted (GUI thread) ...
        self.decoded = 0  # ... and surfaces decoded (this thread)
        self._wanted: tuple | None = None  # (request, code, normalization) latest slider request
        self._queued = False
        self._current: tuple | None = None  # (code, normalization) of the surface shown last ...
        self._completed = None  # ... or the finished completion (space.scan.ScanResult) when it is shown
        self.complete_seconds = 30.0  # a completion's wall-clock budget, as `space complete`'s default
        self._job: str | None = None  # 'complete' | 'train' while a generator runs
        self._stopping = False
        self._points = self._live_points = None
        self._last_progress = 0.0
        self._fit, self._out = None, None
        # autosave of a training run: the CLI's checkpoints (space.checkpoints) every this many minutes
        # (and every checkpoint_steps steps when set), plus one when stopped; Continue goes on from them
        self.checkpoint_minutes: float | None = 10.0
        self.checkpoint_steps: int | None = None
        self._discard = False  # the user chose not to keep the run being stopped
        self.idle = threading.Event()  # set when no training run is going (its checkpoint written)
        self.idle.set()

    # == GUI-thread API (thread-safe) =================================================================
    def open_space(self, path: str) -> None:
        self.post("space-open", self._open, str(path))

    def show_code(self, code: np.ndarray, normalization=None) -> int:
        """Ask for the surface of a code; returns the request number (only the latest one is decoded)."""
        self.requests += 1
        self._wanted = (self.requests, np.asarray(code, np.float32), normalization)
        if not self._queued:
            self._queued = True
            self.post("space-decode", self._decode_wanted)
        return self.requests

    def complete_file(self, path: str, steps: int) -> None:
        self.post("space-complete", self._complete, str(path), int(steps))

    def train(self, folder: str, out: str, epochs: int, samples: int) -> None:
        self.idle.clear()
        self.post("space-train", self._train, str(folder), str(out), int(epochs), int(samples))

    def continue_training(self, path: str) -> None:
        """Go on training the training checkpoint at path, where it stopped."""
        self.idle.clear()
        self.post("space-train", self._continue, str(path))

    def stop_training(self, keep: bool) -> None:
        """Stop a training run: keep (a checkpoint and the space are written, as Stop does) or discard it
        (nothing more is written; checkpoints autosaved earlier stay). `idle` is set once that is done."""
        if self._job == "train":
            self._discard = not keep
            self.stop()

    def export(self, path: str, resolution: int) -> None:
        self.post("space-export", self._export, str(path), int(resolution))

    def stop(self) -> None:
        """End the running completion or training after the current step (training still saves)."""
        if self._gen is not None:
            self._stopping = True
            self._paused = False

    @property
    def job(self) -> str | None:
        """'complete' or 'train' while one runs, else None."""
        return self._job

    def shutdown(self) -> None:
        self.quit_loop()
        if self.isRunning():
            self.wait()

    # == the thread: opening, decoding, exporting ======================================================
    def _open(self, path: str):
        import torch

        from ...space import read_space

        self._drain()
        # one torch thread, as the app starts (main.py): two threads fight the GUI's drawing on 2 cores and a
        # decode takes many times longer; training a space (SpaceTrainer) sets its own count meanwhile
        torch.set_num_threads(1)
        space = read_space(path)  # CheckpointError naming the file: the open space stays as it was
        self.space, state = space, SpaceState.of(path, space)
        self.opened.emit(state)
        self._show(state.codes[0], None, "open")
        return f"opened {Path(path).name}: {len(state.names)} shapes"

    def _decode_wanted(self):
        self._queued = False
        if self._wanted is not None and self.space is not None:
            request, code, norm = self._wanted
            self._show(code, norm, "morph", request)
        return None

    def _show(self, code, norm, source: str, request: int = 0, points=None) -> SurfaceUpdate:
        from ...metrics import point_to_surface

        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            mesh = self.space.decode(code, self.resolution, norm)
        except NoSurfaceError:
            mesh = None
        frame = None if mesh is None else surface_frame(mesh.vertices, mesh.faces)
        dist = None
        if points is not None and mesh is not None:
            dist = float(point_to_surface(points, mesh.vertices, mesh.faces).mean())
        self._current, self._completed = (np.asarray(code, np.float32), norm), None
        return self._emit(frame, request, t0, c0, source, dist)

    def _show_mesh(self, mesh, points) -> SurfaceUpdate:
        """Show a completion's surface (scan's frame) and measure the points against it."""
        from ...metrics import point_to_surface

        t0, c0 = time.perf_counter(), time.thread_time()
        frame = surface_frame(mesh.vertices, mesh.faces)
        dist = float(point_to_surface(points, mesh.vertices, mesh.faces).mean())
        return self._emit(frame, 0, t0, c0, "complete", dist)

    def _emit(self, frame, request: int, t0: float, c0: float, source: str, dist) -> SurfaceUpdate:
        update = SurfaceUpdate(frame, request, time.perf_counter() - t0, source, dist, time.thread_time() - c0)
        self.decoded += 1
        self.surface.emit(update)
        return update

    def _export(self, path: str, resolution: int):
        from ...io.export import save_mesh
        from ...space.confidence import ply_properties

        if self._completed is not None:  # the completed surface as `space complete` writes it
            mesh = self._completed.mesh
            save_mesh(path, mesh.vertices, mesh.faces, properties=ply_properties(self._completed.confidence))
            return f"exported the completed surface ({len(mesh.faces)} faces, with its confidence) to {path}"
        if self._current is None or self.space is None:
            raise InrviewError("nothing to export: open a shape space first")
        code, norm = self._current
        mesh = self.space.decode(code, resolution, norm)
        save_mesh(path, mesh.vertices, mesh.faces)
        return f"exported {len(mesh.faces)} faces to {path}"

    # == the thread: completion and training (generators stepped between commands) =======================
    def _complete(self, path: str, steps: int):
        from ...io.loaders import as_point_cloud, load
        from ...space.scan import complete_scan_steps

        self._drain()
        if self.space is None:
            raise InrviewError("open a shape space first, then drop the points to complete")
        geom = load(path)
        if geom.is_mesh:
            geom = as_point_cloud(geom, 20_000)
        self._points = np.asarray(geom.vertices, np.float64)
        self._live_points = display_points(self._points, LIVE_DISTANCE_POINTS)
        self.points.emit(display_points(self._points))
        self._gen = complete_scan_steps(
            self.space,
            self._points,
            geom.normals,
            steps=steps,
            seconds=self.complete_seconds,
            resolution=self.resolution,
            report_every=5,
            preview=self.resolution,
        )
        self._start_job("complete")
        return f"completing {Path(path).name} from {len(self._points)} points"

    def _train(self, folder: str, out: str, epochs: int, samples: int):
        from ...config import replace
        from ...config.space import SPACE_SAMPLING, SpaceTrainConfig
        from ...space import SpaceFit

        self._drain()
        self.state.emit("busy")
        self.log.emit("info", f"loading and sampling the shapes in {folder}")
        fit = SpaceFit(
            folder,
            SpaceTrainConfig(epochs=epochs),
            sampling=replace(SPACE_SAMPLING, n_samples=samples),
            notify=lambda m: self.log.emit("warning", m),
        )
        return self._start_training(fit, out, f"training a space on {len(fit.collection)} shapes for {epochs} epochs")

    def _continue(self, path: str):
        from ...space.checkpoints import resume_fit, resume_info

        self._drain()
        info = resume_info(path)
        if not info or not info.get("folder"):
            raise InrviewError(f"{path}: not a training checkpoint that can go on (no training state)")
        self.state.emit("busy")
        self.log.emit("info", f"loading the shapes in {info['folder']} to continue {Path(path).name}")
        fit = resume_fit(path, info["folder"], notify=lambda m: self.log.emit("warning", m))
        out = info.get("output") or str(path)
        return self._start_training(fit, out, f"continuing {Path(path).name} from step {fit.trainer.step}")

    def _start_training(self, fit, out: str, message: str) -> str:
        from ...space.checkpoints import keep_checkpoints

        keep_checkpoints(fit, out, self.checkpoint_minutes, self.checkpoint_steps)
        self._fit, self._out, self._discard = fit, out, False
        self._gen = fit.run(report_every=5)
        self._start_job("train")
        return message

    def _start_job(self, job: str) -> None:
        self._job, self._stopping = job, False
        self.state.emit("training")

    def _step(self) -> None:
        if self._stopping:
            self._end_job(stopped=True)
            return
        try:
            snap = next(self._gen)
        except StopIteration:
            self._end_job()
            return
        except Exception as err:  # noqa: BLE001 - a failed step ends the run with a message
            tag = f"space-{self._job}"
            self._gen, self._job = None, None
            self.failed.emit(tag, describe(err))
            self.idle.set()
            self.state.emit("idle")
            return
        if self._job == "complete":
            self._completion_snapshot(snap)
        else:
            self._training_snapshot(snap)

    def _completion_snapshot(self, snap) -> None:
        """A completion's progress (space.scan.ScanProgress): the step, the surface at the end of each stage,
        and at the end the completed surface with its confidence."""
        from ...space.scan import refit_summary

        report = {"step": snap.step, "total": snap.total, "loss": snap.loss, "done": snap.done}
        if snap.done:
            scan = snap.result
            res = scan.result
            update = self._show_mesh(scan.mesh, self._points)
            self._completed = scan
            if update.frame is not None:
                self.confidence.emit(self._confidence(scan.confidence, update.frame))
            self.log.emit("info", f"completed surface: {refit_summary(scan.refinement)}")
            self.completion.emit({**report, "distance": update.distance, "far": res.far, "message": res.message})
            self._end_job()
            return
        if snap.message:
            self.log.emit("warning", snap.message)
        if snap.mesh is not None:
            report["distance"] = self._show_mesh(snap.mesh, self._live_points).distance
        self.completion.emit(report)

    def _confidence(self, conf: dict, frame: SurfaceFrame) -> ConfidenceFrame:
        """The completed surface's per-vertex measures (space.confidence), for the colours and the panel."""
        from ...space.confidence import summary

        return ConfidenceFrame(
            frame,
            conf["confidence"].astype(np.float32),
            conf["disagreement"].astype(np.float32),
            conf["observed"],
            summary(conf),
        )

    def _training_snapshot(self, snap) -> None:
        now = time.perf_counter()
        if snap.done or now - self._last_progress >= 0.1:
            self._last_progress = now
            self.progress.emit(snap)
        if snap.done:
            self._end_job()

    def _end_job(self, stopped: bool = False) -> None:
        """The generator ended (or was stopped): close it; a training run is saved and opened."""
        job, gen = self._job, self._gen
        self._gen, self._job, self._stopping = None, None, False
        if gen is not None:
            gen.close()
        if job == "train" and self._discard:
            self.log.emit("info", "training stopped; nothing more written (earlier autosaves stay)")
            self._fit = None
        elif job == "train":
            self._execute("space-train", self._save_and_open, (self._fit, self._out, stopped))
            self._fit = None
        elif job == "complete" and stopped:
            self.log.emit("info", "completion stopped")
        self.idle.set()
        self.state.emit("idle")

    def _save_and_open(self, fit, out: str, stopped: bool):
        """Write the last checkpoint (Continue goes on from it) and the trained space, and open the space
        (a failure is reported like any command's)."""
        from ...space.checkpoints import checkpoint_paths, write_checkpoint

        write_checkpoint(fit, *checkpoint_paths(out))
        fit.save(out)
        self.log.emit("info", f"saved the space to {out}" + (" (stopped early)" if stopped else ""))
        return self._open(str(checkpoint_paths(out)[0]) if stopped else out)
