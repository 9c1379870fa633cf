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

from ...config import FitConfig
from ...errors import InrviewError
from ..cloud.commands import CloudCommands
from ..common import frames
from ..common.command_thread import CommandThread, describe
from ..common.memory import release_free_memory as _release_free_memory
from .inspect import Inspector
from .state import Opened, checkpoint_lines, domain_corners, warm_up


class SessionWorker(CommandThread):
    """The shape worker; `cloud` (cloud/commands.py) holds the point-cloud commands that run on this thread."""

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
        self._next_preview = 0.0
        self._slices_queued = False
        self._starts_pending = 0
        self._last_trim = 0.0
        # set from the GUI thread; read here (plain attribute swaps are atomic in CPython)
        self.slices: dict[int, float] = {}
        self.preview_resolution = 64
        self.max_final_resolution = 192
        self.max_display_faces = 1_000_000  # the window lowers this for a software (CPU) renderer
        self.min_preview_interval = 0.25
        self.preview_cost_ratio = 1.0  # wait as long as the last preview took: previews use at most half the time
        self._last_faces: tuple[int, int] | None = None  # (resolution, faces) of the last live surface
        self._last_mesh: tuple | None = None  # (vertices, faces) of the latest extracted surface (world units)
        self.cloud = CloudCommands(self)
        self.inspect = Inspector(self)  # the samples, errors, probes and measures views (inspect.py)
        self.report_every = 1
        self.frame_interval = 0.1  # at most ~10 loss messages a second
        self.preview_seconds: list[float] = []

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
        self._last_mesh = None
        if new_shape:
            self._last_faces = None

    def latest_mesh(self):
        """(vertices, faces) of the network's latest extracted surface, world units (one is extracted now when
        none has been yet); None without a network or a surface. Worker thread."""
        if self._last_mesh is None and self.field is not None:
            from ...extract import extract_mesh

            try:
                m = extract_mesh(self.field, self.preview_resolution or 64)
            except InrviewError:
                return None
            self._last_mesh = (m.vertices, m.faces)
        return self._last_mesh

    def _open(self, path: str, cfg, normals: str = "auto"):
        from ...io.geometry import report
        from ...io.loaders import load
        from ...recon import MAX_POINTS
        from ...shape import ShapeSession

        self.finish_training()
        self.state.emit("busy")
        self.log.emit("info", f"loading {path}")
        self._last_faces = None
        t0 = time.perf_counter()
        if path.lower().endswith(".safetensors"):
            opened = self._open_checkpoint(path, cfg)
        else:
            # clouds larger than the recon's limit are subsampled while read, with a notice (meshes never are)
            geom = load(path, max_points=MAX_POINTS, seed=cfg.train.seed)
            self.log.emit("info", f"loaded in {time.perf_counter() - t0:.2f} s; preparing training samples")
            if geom.is_mesh:
                session = ShapeSession(geom, cfg)
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
        from ...io.geometry import report
        from ...shape import load_field, resume_session

        field, header = load_field(path)  # validates everything before anything is replaced
        src = header.get("source") or ""
        session = None
        if src and Path(src).exists():
            try:
                session = resume_session(path, device=None if cfg.train.device == "auto" else cfg.train.device)
            except InrviewError as err:
                self.log.emit("warning", f"cannot continue training from {path}: {err}; view and export only")
        elif src:
            self.log.emit("warning", f"{path}: its input {src} is not here; view and export only")
        lines = checkpoint_lines(path, header)
        self.cloud.forget()
        self._last_mesh = None
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
    def _start(self, cfg, fresh: bool, budget):
        from ...shape import ShapeSession

        self._starts_pending -= 1
        self.finish_training()
        s = self.session
        if s is None:
            raise InrviewError(
                "nothing to train: open a mesh or point cloud first"
                + (" (this checkpoint's input file is missing)" if self.field is not None else "")
            )
        if not s.geometry.is_mesh:
            from ..cloud.state import cloud_config

            cfg = cloud_config(cfg)  # the point-cloud losses, IGR's initialisation for ReLU/Fourier networks
        if fresh and (s.trainer.state.step > 0 or s.cfg != cfg):
            self.state.emit("busy")
            self.log.emit("info", "building a new network" + (" and samples" if s.cfg.sampling != cfg.sampling else ""))
            s = ShapeSession(s.geometry, cfg, s.normalization)
            self.use_session(s)
        elif not fresh and s.trainer._finished():
            # continuing a finished run: extend its budget by the budget asked for now
            steps, seconds = budget
            tc = s.trainer.cfg
            s.trainer.cfg = dataclasses.replace(
                tc,
                steps=s.trainer.state.step + (steps or tc.steps),
                seconds=None if seconds is None else s.trainer.state.elapsed + seconds,
            )
        if cfg.train.threads and s.trainer.device.type == "cpu":
            import torch

            torch.set_num_threads(int(cfg.train.threads))
        # every step on a CPU (a step is slow, and previews can only come between reports); every 10 on a GPU,
        # where reading the loss back each step would stall the device
        self.report_every = 1 if s.trainer.device.type == "cpu" else 10
        if self._stop_requested:  # stopped while it was being prepared
            self._stop_requested = False
            self.state.emit("idle")
            self.log.emit("info", "stopped before training began")
            return None
        self._paused = False
        self._next_preview = 0.0
        self._pending = []
        self.preview_seconds = []
        self._gen = s.trainer.run(self.report_every, self._preview, 0.0)
        self.state.emit("training")
        self.log.emit("info", f"training on {s.trainer.device} from step {s.trainer.state.step}")
        return None

    def _preview(self):
        """Called by the trainer (on this thread) at each report; throttled by its own cost."""
        now = time.perf_counter()
        if now < self._next_preview:
            return None
        out = self._compute_preview(self.preview_resolution)
        if now - self._last_trim > 10.0:
            self._last_trim = now
            _release_free_memory()
        cost = time.perf_counter() - now
        self.preview_seconds.append(cost)
        self._next_preview = time.perf_counter() + max(self.min_preview_interval, cost * self.preview_cost_ratio)
        return out

    def _compute_preview(self, resolution: int | None) -> dict:
        from ...extract import extract_mesh, slice_field

        out: dict = {}
        if resolution:
            try:
                m = extract_mesh(self.field, resolution)
                out["surface"] = frames.surface_frame(m.vertices, m.faces)
                self._last_faces = (resolution, len(m.faces))
                self._last_mesh = (m.vertices, m.faces)
            except InrviewError:
                out["surface"] = None
        slices = {
            a: frames.slice_frame(slice_field(self.field, a, off, 128), self._last_mesh)
            for a, off in dict(self.slices).items()
        }
        out["slice_limit"] = self._slice_limit(slices)
        out["slices"] = frames.with_colors(slices, out["slice_limit"])
        self.inspect.add_to(out, self._last_mesh, new_surface=out.get("surface") is not None)
        return out

    def _slice_limit(self, slices: dict) -> float | None:
        if self.field is None or not slices:
            return None
        if self.field.is_distance:
            clamp = self.session.cfg.train.clamp if self.session is not None else 0.1
            return clamp / self.field.normalization.scale  # beyond the clamp distance the network is not taught
        return frames.slice_limit(slices)

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
        """The end-of-run surface: as fine as the display can draw quickly. Faces grow with the square of the
        resolution, so the last live surface's count tells how far the resolution can go."""
        if self._last_faces is None:
            return min(96 if self.max_display_faces < 200_000 else 128, self.max_final_resolution)
        res, faces = self._last_faces
        scale = (self.max_display_faces / max(faces, 1)) ** 0.5
        return int(max(min(res, 64), min(self.max_final_resolution, res * scale)))

    def _emit_preview(self, resolution: int | None, final: bool = False) -> None:
        if self.field is None:
            return
        self._emit(None, self._compute_preview(resolution), final)

    def _slices_now(self):
        self._slices_queued = False
        if self.field is not None:
            self._emit(None, self._compute_preview(None))
        return None

    # -- results --------------------------------------------------------------------------------------
    def _export_mesh(self, path: str, resolution: int):
        from ...extract import extract_mesh
        from ...io.export import save_mesh

        if self.field is None:
            raise InrviewError("nothing to export: no network yet")
        t0 = time.perf_counter()
        mesh = extract_mesh(self.field, resolution)
        save_mesh(path, mesh.vertices, mesh.faces)
        return {
            "path": path,
            "faces": len(mesh.faces),
            "vertices": len(mesh.vertices),
            "resolution": resolution,
            "seconds": time.perf_counter() - t0,
        }

    def _save_checkpoint(self, path: str):
        from ...training import checkpoint as ckpt

        if os.path.dirname(path):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if self.session is not None:
            self.session.save_checkpoint(path)
            step = self.session.trainer.state.step
        elif self.field is not None and self.header is not None:
            head = {k: v for k, v in self.header.items() if k not in ("optimizer", "format", "version", "versions")}
            ckpt.save(path, self.field.model, head)
            step = int(head.get("trainer", {}).get("step", 0))
        else:
            raise InrviewError("nothing to save: no network yet")
        return {"path": path, "step": step}
