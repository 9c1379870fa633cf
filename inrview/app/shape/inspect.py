"""What the shape worker computes for the views that show what the network learns: the training samples it
sees, where its surface and slices are wrong, probes of single points and the live measures.

Plain numpy and torch, no Qt and no VTK: worker.py calls these between two training steps (DESIGN.md's
threading rule) and sends the results to the GUI thread inside a Frame (frames.Frame.views); shape/views.py
draws them. Distances are in the input's units throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..common import frames

#: Training samples drawn in the view at most (a fixed random subset of the task's pool).
SAMPLE_COUNT = 20_000
#: Sample classes by target, in the order of their colours (shape/views.py).
TARGET_NAMES = ("inside", "surface", "outside", "unsigned")  # unsigned: a cloud's band without a sign


@dataclass(frozen=True)
class SamplesFrame:
    """Training samples for display: points (N, 3) float32 world units; target (N,) float32 class index
    into TARGET_NAMES; loss (N,) float32 |f - target| (input units for distances, probability for
    occupancy); loss_units: what `loss` is measured in."""

    points: np.ndarray
    target: np.ndarray
    loss: np.ndarray
    loss_units: str


@dataclass(frozen=True)
class ErrorFrame:
    """The live surface's distance to the input: values (V,) float32 per vertex of the frame's surface (input
    units); limit: the top of the colour range; units: the input's units; kind: 'mesh' or 'points'."""

    values: np.ndarray
    limit: float
    units: str
    kind: str


class Inspector:
    """The views' computations for one SessionWorker (its `inspect`). The flags are set from the GUI thread
    (plain attribute swaps); the rest runs on the worker thread."""

    def __init__(self, worker):
        self.worker = worker
        self.samples = False  # send the training samples with each preview
        self.errors = False  # colour the surface and the slices by their error
        self.forget()

    def forget(self) -> None:
        """A new session (or network): the cached references, subsets and measures belong to the old one."""
        self._session = None
        self._reference = None  # MeshDistance (mesh input) or cKDTree (cloud), world units
        self._exact: dict = {}  # (axis, offset, shape) -> exact signed distances of a slice's samples
        self._subset: np.ndarray | None = None

    def _check(self) -> object:
        s = self.worker.session
        if s is not self._session:
            self.forget()
            self._session = s
        return s

    def reference(self):
        """The input as a distance query in world units: MeshDistance for a mesh, a k-d tree for a cloud."""
        s = self._check()
        if self._reference is None and s is not None:
            g = s.geometry
            if g.is_mesh:
                from ...sampling import MeshDistance

                self._reference = MeshDistance(g.vertices, g.faces)
            else:
                from scipy.spatial import cKDTree

                self._reference = cKDTree(g.vertices)
        return self._reference

    def distance_to_input(self, points: np.ndarray) -> np.ndarray:
        """(N,) unsigned distance from world points (N, 3) to the input (its surface, or its nearest point)."""
        ref = self.reference()
        if hasattr(ref, "unsigned"):
            return ref.unsigned(points)
        return ref.query(np.asarray(points, np.float64), workers=1)[0]

    # == per preview =================================================================================
    def add_to(self, out: dict, mesh, new_surface: bool = True) -> None:
        """Add the enabled views to a preview dict as out['views']. mesh: the surface on screen as (vertices,
        faces) in world units, or None; new_surface: it was extracted for this preview (measures are taken
        of new surfaces only)."""
        s = self._check()
        if s is None:
            return
        views: dict = {}
        if self.samples:
            views["samples"] = self.training_samples(s)
        if self.errors and mesh is not None:
            views["error"] = self.surface_error(s, mesh[0])
        if self.errors and out.get("slices") and s.geometry.is_mesh and self.worker.field.target == "sdf":
            out["slices"], views["slice_error_limit"] = self.slice_errors(s, out["slices"])
        measures = self.measures(s, mesh) if new_surface else None
        if measures:
            views["measures"] = measures
        out["views"] = views

    def training_samples(self, s) -> SamplesFrame:
        """A fixed random subset of the task's samples, their targets and their current loss."""
        task, field = s.trainer.task, s.field
        cloud = not hasattr(task, "values")  # PointCloudTask: its input points (on the surface), then its pool
        surf = None if cloud else task.samples.surface_points
        n_surf = len(task.points) if cloud else (0 if surf is None else len(surf))
        n = n_surf + len(task.pool["points"]) if cloud else len(task.points)
        if self._subset is None or self._subset.max(initial=0) >= n:
            self._subset = np.sort(np.random.default_rng(0).choice(n, min(SAMPLE_COUNT, n), replace=False))
        idx = self._subset
        if cloud:  # only the subset's rows leave the device; the pool's targets are its band's signed distance
            vol = torch.from_numpy(idx[idx >= n_surf] - n_surf).to(task.points.device)
            x = (
                torch.cat(
                    [task.points[torch.from_numpy(idx[idx < n_surf]).to(task.points.device)], task.pool["points"][vol]]
                )
                .cpu()
                .numpy()
            )
            sign = np.concatenate([np.ones((idx < n_surf).sum()), task.pool["sign"][vol].cpu().numpy()])
            v = np.concatenate([np.zeros((idx < n_surf).sum()), task.pool["dist"][vol].cpu().numpy()]) * sign
        else:
            rows = torch.from_numpy(idx).to(task.points.device)
            x, v = task.points[rows].cpu().numpy(), task.values[rows].cpu().numpy().astype(np.float64)
        f = field.evaluate_unit(x).astype(np.float64)
        occupancy = field.target == "occupancy"
        if occupancy:  # the value is the negated logit; the target 1 inside, 0 outside
            target = np.where(v > 0.5, 0, np.where(v < 0.5, 2, 1))
            loss, units = np.abs(1.0 / (1.0 + np.exp(f)) - v), "probability"
        else:
            target = np.where(v < 0, 0, np.where(v > 0, 3 if field.target == "udf" else 2, 1))
            clamp = getattr(task, "clamp", None) or np.inf
            loss = np.abs(np.clip(f, -clamp, clamp) - np.clip(v, -clamp, clamp)) / s.normalization.scale
            units = s.geometry.units
            if cloud:  # the band without a sign bounds |f| by the distance to the nearest point
                unsigned = sign == 0
                v[unsigned] = task.pool["dist"][vol].cpu().numpy()[unsigned[idx >= n_surf]]
                loss[unsigned] = np.abs(np.abs(f[unsigned]) - v[unsigned]) / s.normalization.scale
                target[unsigned] = 3
        target[idx < n_surf] = 1
        world = s.normalization.to_world(x).astype(np.float32)
        return SamplesFrame(world, target.astype(np.float32), loss.astype(np.float32), units)

    def surface_error(self, s, vertices: np.ndarray) -> ErrorFrame:
        """Each live-surface vertex's distance to the input; the colour range tops at its 98th percentile."""
        d = self.distance_to_input(vertices).astype(np.float32)
        limit = float(np.percentile(d, 98)) if len(d) else 1.0
        return ErrorFrame(d, max(limit, 1e-9), s.geometry.units, "mesh" if s.geometry.is_mesh else "points")

    def slice_errors(self, s, slices: dict) -> tuple[dict, float]:
        """The slices coloured by f - exact signed distance (both clamped to the distance the network is
        taught, beyond which it is not asked to be right), on one symmetric range; returns (slices, range)."""
        from dataclasses import replace

        clamp = s.cfg.train.clamp / s.normalization.scale
        errors = {
            a: np.clip(sl.values, -clamp, clamp) - np.clip(self.exact_slice(sl), -clamp, clamp)
            for a, sl in slices.items()
        }
        limit = max(float(np.percentile(np.abs(np.concatenate([e.ravel() for e in errors.values()])), 98)), 1e-9)
        return {a: replace(sl, rgb=frames.colorize(errors[a], limit)) for a, sl in slices.items()}, limit

    def exact_slice(self, sl) -> np.ndarray:
        """(H, W) exact signed distances at a slice's samples (cached: they do not change while training)."""
        key = (sl.axis, round(sl.offset, 9), sl.values.shape, sl.extent)
        if key not in self._exact:
            h, w = sl.values.shape
            u0, u1, v0, v1 = sl.extent
            others = [a for a in range(3) if a != sl.axis]
            vv, uu = np.meshgrid(np.linspace(v0, v1, h), np.linspace(u0, u1, w), indexing="ij")
            p = np.empty((h * w, 3))
            p[:, sl.axis], p[:, others[0]], p[:, others[1]] = sl.offset, uu.ravel(), vv.ravel()
            self._exact[key] = self.reference().signed(p).reshape(h, w).astype(np.float32)
        return self._exact[key]

    def measures(self, s, mesh) -> dict | None:
        """The live measures of the surface, taken through the session's tracker (which keeps the best
        weights for 'Export best checkpoint'), or None without a surface."""
        if mesh is None:
            return None
        st = s.trainer.state
        return s.live.measure(s.field, s.model, st.step, st.elapsed, s.normalization.to_unit(mesh[0]), mesh[1])

    # == commands ====================================================================================
    def probe(self, point) -> dict:
        """The field's value, the exact signed distance (mesh input) and the gradient's norm at a world
        point (3,); runs as a worker command (tag 'probe')."""
        field = self.worker.field
        if field is None:
            return {"point": point, "value": None, "exact": None, "gradient_norm": None}
        p = np.asarray(point, np.float64).reshape(1, 3)
        s = self._check()
        exact = None
        if s is not None and s.geometry.is_mesh:
            exact = float(self.reference().signed(p)[0])
        units = s.geometry.units if s is not None else "input units"
        return {
            "point": tuple(p[0]),
            "value": float(field(p)[0]),
            "exact": exact,
            "gradient_norm": float(np.linalg.norm(field.gradient(p)[0])),
            "units": units,
            "distance": field.is_distance,
        }

    def save_best(self, path: str) -> dict:
        """Write the best checkpoint by the live measure (tag 'checkpoint')."""
        s = self.worker.session
        s.save_checkpoint(path, best=True)
        return {"path": path, "step": s.best.step}
