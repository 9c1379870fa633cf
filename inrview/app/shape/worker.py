"""The one thread that owns the shape being fitted: it loads, trains, previews, extracts and saves.

THE threading rule (DESIGN.md): VTK and widgets live on the GUI thread only. This thread touches neither; it
drives the trainer's snapshot generator, checks pause and stop between yields, prepares preview arrays
(frames.py) and sends everything over Qt signals. Everything that reads or writes the network (slices after a
slider move, mesh export, checkpoint save, autosave) is a command queued to this thread and runs between two
training steps, so the weights are never read half-updated and never written from two threads.
"""

from __future__ import annotations

import dataclasses
import os
import time
import traceback
from pathlib import Path

import numpy as np
from PyQt6 import QtCore

from ... import shape
from ...config import FitConfig
from ...errors import InrviewError
from ...io.export import save_mesh
from ...io.geometry import report
from ...io.loaders import load
from ...recon import MAX_POINTS
from ...shape.pipeline import ShapePipeline, heavy
from ..cloud.commands import CloudCommands
from ..cloud.state import cloud_config
from ..common import frames
from ..common.command_thread import CommandThread, describe
from ..common.memory import release_free_memory as _release_free_memory
from .inspect import Inspector
from .previews import Previews
from .state import Opened, checkpoint_lines, domain_corners, warm_up

#: The worker's preview settings (the window sets some), each an attribute of its Previews.
_PREVIEW_SETTINGS = {
    "preview_resolution": "resolution",
    "preview_time_limit": "seconds",
    "max_final_resolution": "max_final_resolution",
    "max_display_faces": "max_display_faces",
    "min_preview_interval": "min_interval",
    "preview_cost_ratio": "cost_ratio",
    "preview_seconds": "costs",
}


def _setting(name: str) -> property:
    attr = _PREVIEW_SETTINGS[name]
    return property(lambda self: getattr(self.previews, attr), lambda self, v: setattr(self.previews, attr, v))


class SessionWorker(CommandThread):
    """The shape worker; `cloud` (cloud/commands.py) holds the point-cloud commands that run on this thread,
    `previews` (previews.py) the looks at the field. Shapes are opened and trained through the shape pipeline
    (`pipeline`), step by step between the queued commands."""

    frame = QtCore.pyqtSignal(object)  # frames.Frame
    opened = QtCore.pyqtSignal(object)  # Opened
    log = QtCore.pyqtSignal(str, str)  # (level, text)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.session = None
        self.field = None
        self.header: dict | None = None
        self._stop_requested = False
        self._pending: list = []
        self._last_emit = 0.0
        self._slices_queued = False
        self._starts_pending = 0
        # set from the GUI thread; read here (plain attribute swaps are atomic in CPython)
        self.slices: dict[int, float] = {}
        self.previews = Previews(self)
        self.pipeline = ShapePipeline(measure=False)
        self.cloud = CloudCommands(self)
        self.inspect = Inspector(self)  # the samples, errors, probes and measures views (inspect.py)
        self.report_every = 1
        self.frame_interval = 0.1  # at most ~10 loss messages a second

    preview_resolution = _setting("preview_resolution")
    preview_time_limit = _setting("preview_time_limit")
    max_final_resolution = _setting("max_final_resolution")
    max_display_faces = _setting("max_display_faces")
    min_preview_interval = _setting("min_preview_interval")
    preview_cost_ratio = _setting("preview_cost_ratio")
    preview_seconds = _setting("preview_seconds")

    # == GUI-thread API (thread-safe) =================================================================
    def open_file(self, path: str, cfg, normals: str = "auto") -> None:
        """Open a file; a point cloud's normals are prepared by `normals` (cloud.NORMAL_CHOICES)."""
        self.stop()
        self.post("open", self._open, str(path), cfg, normals)

    def start_training(self, cfg, fresh: bool, budget) -> None:
        self._starts_pending += 1
        self.post("start", self._start, cfg, fresh, budget)

    def stop(self) -> None:
        """Finish the run after the current step (the last snapshot still arrives); a start that is still
        being prepared does not begin."""
        if self._gen is None and not self._starts_pending:
            return
        self._stop_requested = True
        self._paused = False
        s = self.session
        if s is not None:
            s.stop()

    def request_slices(self) -> None:
        if not self._slices_queued:
            self._slices_queued = True
            self.post("slices", self._slices_now)

    def export_mesh(self, path: str, resolution: int) -> None:
        self.post("export", self._export_mesh, str(path), int(resolution))

    def save_checkpoint(self, path: str, tag: str = "checkpoint") -> None:
        self.post(tag, self._save_checkpoint, str(path))

    def shutdown(self) -> None:
        """Stop training, end the thread and wait for it (closing the window calls this). Queued saves still
        run; other queued work is dropped. The wait has no time limit: a thread alive at exit aborts the
        process, and whatever runs now (a step, an extraction, a save) ends by itself."""
        self.quit_loop()
        if self.isRunning():
            self.wait()

    # == the thread ==================================================================================
    def warm_up(self) -> None:
        warm_up()

    def keep_when_quitting(self, tag: str) -> bool:
        return tag in ("checkpoint", "autosave")  # closing: saves still happen, nothing else queued

    def unexpected(self, err: BaseException) -> None:
        self.log.emit("debug", traceback.format_exc())

    # -- opening --------------------------------------------------------------------------------------
    def finish_training(self) -> None:
        """Stop a run and drain it to its last snapshot (before the session is replaced). Worker thread."""
        self._drain(final_preview=False)

    def use_session(self, session, header: dict | None = None, new_shape: bool = False) -> None:
        """Make `session` (and its field) the one this thread trains and reads; the last extracted surface
        belonged to the previous network. new_shape: the preview sizes start over too. Worker thread."""
        self.session, self.field, self.header = session, session.field, header
        self.previews.last_mesh = None
        if new_shape:
            self.previews.last_faces = None

    def latest_mesh(self):
        """(vertices, faces) of the network's latest extracted surface, world units (one is extracted now when
        none has been yet); None without a network or a surface. Worker thread."""
        return self.previews.latest_mesh()

    def _open(self, path: str, cfg, normals: str = "auto"):
        self.finish_training()
        self.state.emit("busy")
        self.log.emit("info", f"loading {path}")
        self.previews.last_faces = None
        t0 = time.perf_counter()
        if path.lower().endswith(".safetensors"):
            opened = self._open_checkpoint(path, cfg)
        else:
            # clouds larger than the recon's limit are subsampled while read, with a notice (meshes never are)
            geom = load(path, max_points=MAX_POINTS, seed=cfg.train.seed)
            self.log.emit("info", f"loaded in {time.perf_counter() - t0:.2f} s; preparing training samples")
            if geom.is_mesh:
                session = self._pipeline(cfg).open(geom)
                self.cloud.forget()
                lines, state = report(geom).lines(), None
            else:
                session, state = self.cloud.open(geom, cfg, normals)
                lines = state.report_lines
            self.use_session(session)
            opened = self._opened(path, "shape", lines, geom, session, state)
        _release_free_memory()  # the previous shape's samples and network are gone
        self.state.emit("idle")
        self.opened.emit(opened)
        if opened.kind == "checkpoint":
            self._emit_preview(self.final_resolution(), final=True)
        return None

    def _open_checkpoint(self, path: str, cfg) -> Opened:
        field, header = shape.load_field(path)  # validates everything before anything is replaced
        src = header.get("source") or ""
        session = None
        if src and Path(src).exists():
            try:
                session = shape.resume_session(path, device=None if cfg.train.device == "auto" else cfg.train.device)
            except InrviewError as err:
                self.log.emit("warning", f"cannot continue training from {path}: {err}; view and export only")
        elif src:
            self.log.emit("warning", f"{path}: its input {src} is not here; view and export only")
        lines = checkpoint_lines(path, header)
        self.cloud.forget()
        self.previews.last_mesh = None
        if session is not None:
            self.use_session(session, header)
            lines += report(session.geometry).lines()[1:]
            return self._opened(path, "checkpoint", lines, session.geometry, session)
        self.session, self.field, self.header = None, field, header
        cfg_ckpt = FitConfig.from_dict(header["config"])  # load_field has validated it
        return Opened(
            path,
            "checkpoint",
            lines,
            [],
            np.zeros((0, 3), np.float32),
            None,
            domain_corners(field.normalization),
            False,
            int(header.get("trainer", {}).get("step", 0)),
            cfg_ckpt,
            str(field.device),
        )

    def _opened(self, path, kind, lines, geom, session, cloud=None) -> Opened:
        pts = frames.display_points(geom.vertices)
        cells = None
        if geom.is_mesh and len(pts) == len(geom.vertices):
            if len(geom.faces) <= self.max_display_faces:
                cells = frames.vtk_cells(geom.faces)
            else:
                self.log.emit("info", f"the input has {len(geom.faces)} faces: drawn as points to keep the view fast")
        notices = list(cloud.notices) if cloud is not None else list(geom.notices)
        notices += [session.target_notice] if getattr(session, "target_notice", None) else []
        return Opened(
            path,
            kind,
            lines,
            notices,
            pts,
            cells,
            domain_corners(session.normalization),
            True,
            session.trainer.state.step,
            session.cfg,
            str(session.trainer.device),
            cloud,
        )

    # -- training -------------------------------------------------------------------------------------
    def _pipeline(self, cfg) -> ShapePipeline:
        """The shape pipeline for cfg (this thread's shapes are opened and trained through it)."""
        self.pipeline.cfg = cfg
        return self.pipeline

    def _start(self, cfg, fresh: bool, budget):
        self._starts_pending -= 1
        self.finish_training()
        s = self.session
        if s is None:
            raise InrviewError(
                "nothing to train: open a mesh or point cloud first"
                + (" (this checkpoint's input file is missing)" if self.field is not None else "")
            )
        if not s.geometry.is_mesh:
            cfg = cloud_config(cfg)  # the point-cloud losses, IGR's initialisation for ReLU/Fourier networks
        if cfg.target == "auto" and getattr(s, "target_notice", None):  # the session's target was chosen for it
            cfg = dataclasses.replace(cfg, target=s.cfg.target)
        if fresh and (s.trainer.state.step > 0 or s.cfg != cfg):
            self.state.emit("busy")
            self.log.emit("info", "building a new network" + (" and samples" if s.cfg.sampling != cfg.sampling else ""))
            s = self._pipeline(cfg).open(s.geometry, s.normalization)
            self.use_session(s)
        elif not fresh and s.finished:
            s.extend_budget(*budget)  # continuing a finished run: its budget grows by the budget asked for now
        s.set_threads(cfg.train.threads)
        # every step on a CPU (a step is slow, and previews can only come between reports); every 10 on a GPU,
        # where reading the loss back each step would stall the device
        self.report_every = 1 if s.trainer.device.type == "cpu" else 10
        if self._stop_requested:  # stopped while it was being prepared
            self._stop_requested = False
            self.state.emit("idle")
            self.log.emit("info", "stopped before training began")
            return None
        self._paused = False
        self._pending = []
        self.previews.restart()
        self._gen = self._pipeline(s.cfg).steps(
            s, report_every=self.report_every, preview=self.previews.during_training, preview_interval=0.0
        )
        self.state.emit("training")
        self.log.emit("info", f"training on {s.trainer.device} from step {s.trainer.state.step}")
        return None

    def _step(self, final_preview: bool = True) -> None:
        try:
            if self._stop_requested:
                self.session.stop()
            snap = next(self._gen)
        except StopIteration:
            self._end_run()
            return
        except Exception as err:
            self.log.emit("debug", traceback.format_exc())
            self._end_run()
            self.failed.emit("train", f"training failed: {describe(err)}")
            return
        if snap.losses:
            self._pending.append((snap.step, snap.losses))
        now = time.perf_counter()
        pv = snap.preview if isinstance(snap.preview, dict) else None
        if pv is not None or snap.done or now - self._last_emit >= self.frame_interval:
            self._emit(snap, pv)
        if snap.done:
            if snap.message:
                self.log.emit("warning" if "non-finite" in snap.message else "info", snap.message)
            self._end_run()
            if final_preview:
                self._emit_preview(self.final_resolution(), final=True)
                self.cloud.after_final()

    def _end_run(self) -> None:
        _release_free_memory()
        self._gen = None
        self._paused = False
        self._stop_requested = False
        self.state.emit("idle")

    def _emit(self, snap, pv: dict | None, final: bool = False) -> None:
        losses, self._pending = self._pending, []
        self._last_emit = time.perf_counter()
        if pv is None:
            self.frame.emit(frames.Frame(snap, losses))
            return
        surf = pv.get("surface", None)
        self.frame.emit(
            frames.Frame(
                snap,
                losses,
                surf,
                "surface" in pv and surf is None,
                pv.get("slices", {}),
                pv.get("slice_limit"),
                final,
                pv.get("views", {}),
            )
        )

    def final_resolution(self) -> int:
        """The end-of-run surface's cells per side (Previews.final_resolution)."""
        return self.previews.final_resolution()

    def _emit_preview(self, resolution: int | None, final: bool = False) -> None:
        if self.field is None:
            return
        self._emit(None, self.previews.compute(resolution, self.previews.final_seconds if final else None), final)

    def _slices_now(self):
        self._slices_queued = False
        if self.field is not None:
            self._emit(None, self.previews.compute(None, None))
        return None

    # -- results --------------------------------------------------------------------------------------
    def _export_mesh(self, path: str, resolution: int):
        if self.field is None:
            raise InrviewError("nothing to export: no network yet")
        t0 = time.perf_counter()
        mesh = heavy().extract_mesh(self.field, resolution)
        save_mesh(path, mesh.vertices, mesh.faces)
        return {
            "path": path,
            "faces": len(mesh.faces),
            "vertices": len(mesh.vertices),
            "resolution": resolution,
            "seconds": time.perf_counter() - t0,
        }

    def _save_checkpoint(self, path: str):
        if os.path.dirname(path):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if self.session is not None:
            self.session.save_checkpoint(path)
            step = self.session.trainer.state.step
        elif self.field is not None and self.header is not None:
            head = {k: v for k, v in self.header.items() if k not in ("optimizer", "format", "version", "versions")}
            heavy().ckpt.save(path, self.field.model, head)
            step = int(head.get("trainer", {}).get("step", 0))
        else:
            raise InrviewError("nothing to save: no network yet")
        return {"path": path, "step": step}
