"""The worker's commands for point clouds: normals (prepared on open and again when the choice changes),
screened Poisson on the same points, the measures of both surfaces, a reference mesh, the Poisson export.

The shape worker (shape/worker.py) holds one CloudCommands as `worker.cloud`. The public methods are called on
the GUI thread and only queue work; everything else runs on the worker thread, between two training steps, and
replaces the worker's session only once the new state is complete, so a failure leaves the previous one (and a
running fit) as it was. Results come back as the worker's `done`/`failed` signals (tags 'normals', 'compare',
'reference', 'export_poisson') and this object's `prepared` signal.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PyQt6 import QtCore

from ...errors import InrviewError
from ..common import frames
from ..common.command_thread import describe
from . import state as C


class CloudCommands(QtCore.QObject):
    """The point-cloud state of the shape worker and the commands that change it."""

    prepared = QtCore.pyqtSignal(object)  # CloudState: the open cloud's normals were prepared again

    def __init__(self, worker):
        super().__init__()
        self.worker = worker  # the SessionWorker: post(), session, field, use_session(), log/state/done signals
        self.raw_cloud = None  # the cloud as loaded (its own normals, if any)
        self.cloud_state: C.CloudState | None = None
        self.reference = None  # a reference mesh (Geometry) for Chamfer / F-score
        self.reference_path = ""
        self._poisson = None  # (PoissonResult, normals summary, SurfaceFrame)
        self._poisson_scores = None  # Scores of the Poisson surface for the current reference

    # == GUI-thread API (thread-safe) =================================================================
    def set_normals(self, mode: str, cfg) -> None:
        self.worker.post("normals", self._renormal, mode, cfg)

    def compare_poisson(self) -> None:
        self.worker.post("compare", self._compare_now)

    def set_reference(self, path: str) -> None:
        self.worker.post("reference", self._set_reference, str(path))

    def export_poisson(self, path: str) -> None:
        self.worker.post("export_poisson", self._export_poisson, str(path))

    # == the thread ==================================================================================
    def forget(self) -> None:
        """A mesh or a checkpoint replaces the cloud (worker thread)."""
        self.raw_cloud = self.cloud_state = self.reference = None
        self.reference_path = ""
        self._poisson = self._poisson_scores = None

    def _prepare_cloud(self, geom, mode: str, cfg):
        """(ShapeSession, CloudState) for a cloud: its normals by `mode`, the recon's network for it and the
        model dock's budget. Nothing of the worker's state changes here."""
        from ...io.geometry import report
        from ...shape import ShapeSession

        cloud, rep = C.prepare(geom, mode)
        has = cloud.normals is not None
        panel = C.suggested_config(cloud.vertices, has, cfg)
        session = ShapeSession(cloud, C.cloud_config(panel))
        summary = rep.summary()
        notices = [n for n in cloud.notices if n != summary]  # the loader's and the preparation's
        glyphs = C.normal_glyphs(cloud.vertices, cloud.normals)
        lines = C.report_lines(report(geom).lines(), rep)
        lines += [f"notice:      {n}" for n in notices if n not in geom.notices]  # e.g. re-oriented file normals
        return session, C.CloudState(mode, rep, summary, notices, glyphs, len(cloud.vertices), panel, lines)

    def open(self, geom, cfg, mode: str):
        """Opening a point cloud (the worker's open command calls this): (ShapeSession, CloudState). A mode
        that needs the file's normals falls back to 'auto' when the file has none, rather than refusing it."""
        if mode in ("file", "orient") and geom.normals is None:
            self.worker.log.emit(
                "warning", f"{Path(geom.source).name} has no normals: estimating them (normals 'auto')"
            )
            mode = "auto"
        self.worker.log.emit("info", "preparing the normals and the training samples")
        session, state = self._prepare_cloud(geom, mode, cfg)
        self.worker.log.emit(
            "info",
            f"{Path(geom.source).name}: {state.summary}; network: {state.config.model.kind} (picked for this cloud)",
        )
        self.forget()
        self.raw_cloud, self.cloud_state = geom, state
        return session, state

    def _renormal(self, mode: str, cfg):
        if self.raw_cloud is None:
            raise InrviewError("normals apply to point clouds: open one first")
        self.worker.log.emit("info", f"preparing normals '{mode}' for {Path(self.raw_cloud.source).name}")
        session, state = self._prepare_cloud(self.raw_cloud, mode, cfg)  # may fail: nothing replaced yet
        self.worker.finish_training()
        self.worker.use_session(session, new_shape=True)
        self.cloud_state = state
        self._poisson = self._poisson_scores = None  # it was made with the previous normals
        name = Path(self.raw_cloud.source).name
        for n in state.notices:
            if n not in self.raw_cloud.notices:
                self.worker.log.emit("warning", f"{name}: {n}")
        self.worker.log.emit("info", f"{name}: {state.summary}")
        self.worker.state.emit("idle")
        self.prepared.emit(state)
        return None

    # -- Poisson and the measures ---------------------------------------------------------------------
    def _compare_now(self, remeasure_only: bool = False):
        from ...recon import poisson_for

        if self.raw_cloud is None or self.worker.session is None or self.cloud_state is None:
            raise InrviewError("Compare with Poisson needs an open point cloud")
        t0 = time.perf_counter()
        name = Path(self.raw_cloud.source).name
        new = False
        if self._poisson is None:
            if remeasure_only:
                return None
            n = len(self.raw_cloud.vertices)
            self.worker.log.emit(
                "info",
                f"screened Poisson on {n} points of {name} (Open3D; a few seconds"
                f"{', training waits' if self.worker.training else ''})",
            )
            prepared = (self.worker.session.geometry, self.cloud_state.report)  # poisson_reconstruct normalises itself
            try:
                res, rep = poisson_for(self.raw_cloud, prepared=prepared)
            except InrviewError:
                raise
            except Exception as err:
                raise InrviewError(f"{name}: screened Poisson failed: {describe(err)}") from None
            if len(res.faces) == 0:
                raise InrviewError(f"{name}: screened Poisson made no surface from these points")
            if not np.isfinite(res.vertices).all():
                raise InrviewError(f"{name}: screened Poisson made a surface with non-finite coordinates")
            self._poisson = (res, rep.summary(), frames.surface_frame(res.vertices, res.faces))
            self._poisson_scores = None
            new = True
        res, normals, frame = self._poisson
        pts = self.raw_cloud.vertices
        if self._poisson_scores is None:
            self._poisson_scores = C.score(pts, res.vertices, res.faces, res.seconds, self.reference)
        neural = None
        mesh = self.worker.latest_mesh()
        if mesh is not None and len(mesh[1]):
            v, f = C.clean_surface(*mesh)
            neural = C.score(pts, v, f, self.worker.session.trainer.state.elapsed, self.reference)
        scores = {"inrview": neural, "poisson": self._poisson_scores}
        return C.Comparison(
            frame if new else None, scores, res.depth, normals, time.perf_counter() - t0, self.reference_path
        )

    def after_final(self) -> None:
        """The end-of-run surface is extracted: measure it again beside Poisson (the table stays current)."""
        if self._poisson is None or self.cloud_state is None:
            return
        try:
            result = self._compare_now(remeasure_only=True)
        except Exception as err:  # a measure must never cost the run
            self.worker.log.emit("warning", f"could not measure the new surface: {describe(err)}")
            return
        if result is not None:
            self.worker.done.emit("compare", result)

    def _set_reference(self, path: str):
        from ...io.loaders import load

        ref = load(path)  # LoadError names the file and the problem
        if not ref.is_mesh:
            raise InrviewError(f"{path}: is a point cloud; the reference must be a mesh (with faces)")
        if len(ref.faces) == 0:
            raise InrviewError(f"{path}: the reference mesh has no faces")
        self.reference, self.reference_path = ref, path
        self._poisson_scores = None
        out = {"path": path, "faces": len(ref.faces), "comparison": None}
        if self._poisson is not None:
            out["comparison"] = self._compare_now(remeasure_only=True)
        return out

    def _export_poisson(self, path: str):
        from ...io.export import save_mesh

        if self._poisson is None:
            raise InrviewError("no Poisson surface to export: run Compare with Poisson first")
        res = self._poisson[0]
        t0 = time.perf_counter()
        save_mesh(path, res.vertices, res.faces)  # atomic: the old file or the new one, whole
        return {
            "path": path,
            "faces": len(res.faces),
            "vertices": len(res.vertices),
            "seconds": time.perf_counter() - t0,
        }
