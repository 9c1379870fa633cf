"""Quality measures cheap enough to run during training, at the preview's rate.

`LiveMeasures` is built once per input (in the normalised coordinates the network sees): a few thousand
reference surface samples with their normals, the input's distance structure, and for a watertight mesh a
fixed set of probe points with their exact inside/outside labels. Each `measure(field, ...)` then costs a
few thousand closest-point queries each way and one network evaluation of the probes, the same points every
time, so successive values differ by what the network learned, not by sampling noise.

The numbers follow `inrview.metrics.surface`: Chamfer-L1 is point-to-surface, the mean of accuracy and
completeness, in normalised units (the input's longest bounding-box side is 2); normal consistency is the
mean |cos| between normals and the closest face's normal, both ways; IoU is of the volumes inside.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..errors import InrviewError
from ..extract import extract_mesh
from ..field import Field
from ..io.geometry import Geometry
from ..sampling import MeshDistance, face_normals_areas, sample_surface
from ..sampling.unsigned import mesh_topology
from .open import F_FRACTIONS, area, f_score
from .surface import normalised_scale, one_way

#: Reference and predicted surface samples per measurement.
LIVE_POINTS = 4096
#: Probe points of the IoU (uniform in the [-1, 1]^3 domain).
LIVE_PROBES = 8192
#: Cells per side of the surface extracted when measure() is not handed one.
LIVE_RESOLUTION = 64


class LiveMeasures:
    """Cheap Chamfer-L1, normal consistency and IoU of a field against one input.

    geometry_unit: the input in normalised coordinates (a mesh, or points with optional normals).
    n_points: reference (and predicted) surface samples; n_probes: IoU probe points (watertight meshes
    only); resolution: cells per side of the surface extracted when measure() gets none; seed: fixes the
    reference samples, the probes and the samples drawn on each predicted surface."""

    def __init__(
        self,
        geometry_unit: Geometry,
        n_points: int = LIVE_POINTS,
        n_probes: int = LIVE_PROBES,
        resolution: int = LIVE_RESOLUTION,
        seed: int = 0,
    ):
        g = geometry_unit
        rng = np.random.default_rng(seed)
        v = np.asarray(g.vertices, np.float64)
        self.n_points, self.resolution, self.seed = int(n_points), int(resolution), int(seed)
        #: normalised units per coordinate unit of geometry_unit
        self.scale = float(normalised_scale(v))
        self.probes = self.inside = self._tree = self._ref = None
        if g.is_mesh:
            f = np.asarray(g.faces, np.int64)
            self._ref = MeshDistance(v, f)
            self._ref_fn, _ = face_normals_areas(v, f)
            #: (n_points, 3) reference surface samples and (n_points, 3) their unit normals
            self.points, self.normals = sample_surface(v, f, self.n_points, rng)
            if self._ref.watertight:
                #: (n_probes, 3) fixed IoU probes and (n_probes,) their exact inside labels
                self.probes = rng.uniform(-1.0, 1.0, (int(n_probes), 3))
                self.inside = self._ref.inside(self.probes)
        else:
            idx = rng.choice(len(v), min(self.n_points, len(v)), replace=False)
            self.points = v[idx]
            self._cloud_normals = None if g.normals is None else np.asarray(g.normals, np.float64)
            self.normals = None if g.normals is None else self._cloud_normals[idx]
            self._tree = cKDTree(v)

    def iou(self, field: Field) -> float | None:
        """Intersection over union of the field's inside (value < 0) and the input's, at the fixed probes;
        None unless the input is a watertight mesh."""
        if self.probes is None:
            return None
        pred = field.evaluate_unit(self.probes) < 0
        union = int(np.logical_or(pred, self.inside).sum())
        return float(np.logical_and(pred, self.inside).sum() / union) if union else 0.0

    def measure(self, field: Field, vertices_unit: np.ndarray | None = None, faces: np.ndarray | None = None) -> dict:
        """The field against the input: {'chamfer_l1', 'accuracy', 'completeness' (normalised units),
        'normal_consistency' (when the input has normals or faces), 'iou' (watertight meshes)}.

        vertices_unit (V, 3) and faces (F, 3): the field's surface in normalised coordinates (a preview
        mesh); None extracts one at `resolution`. For an unsigned field (target 'udf') also 'f_score' (at 1%
        of the longest side), 'boundary_edges' and, for mesh inputs, 'area_ratio'. Without a surface (no
        zero crossing yet, or F = 0) only 'iou' is returned, when it applies."""
        out = {}
        iou = self.iou(field)
        if iou is not None:
            out["iou"] = iou
        if vertices_unit is None:
            try:
                mesh = extract_mesh(field, self.resolution)
            except InrviewError:
                return out
            vertices_unit, faces = field.normalization.to_unit(mesh.vertices), mesh.faces
        if faces is None or len(faces) == 0:
            return out
        v, f = np.asarray(vertices_unit, np.float64), np.asarray(faces, np.int64)
        out = self._distances(v, f) | out
        if getattr(field, "target", None) == "udf":
            out |= self._open(v, f)
        return out

    def _open(self, v: np.ndarray, f: np.ndarray) -> dict:
        """The open-surface measures of the last _distances: F-score at 1% of the longest side, area ratio
        (mesh inputs) and boundary edges."""
        acc, comp = self._last
        out = {"f_score": f_score(acc, comp, 2 * F_FRACTIONS[1])[0], "boundary_edges": mesh_topology(f).boundary_edges}
        if self._ref is not None:
            out["area_ratio"] = area(v, f) / max(area(self._ref.vertices, self._ref.faces), 1e-30)
        return out

    def _distances(self, v: np.ndarray, f: np.ndarray) -> dict:
        """Chamfer-L1 (both ways) and normal consistency of the mesh (v, f) against the reference."""
        p_pts, p_nrm = sample_surface(v, f, self.n_points, np.random.default_rng(self.seed + 1))
        pred = MeshDistance(v, f, sign="parity")
        pred_fn, _ = face_normals_areas(v, f)
        if self._ref is not None:
            acc, nc1 = one_way(p_pts, p_nrm, self._ref, self._ref_fn)
        else:
            acc, nn = self._tree.query(p_pts)
            nc1 = None if self._cloud_normals is None else np.abs(np.sum(p_nrm * self._cloud_normals[nn], axis=1))
        ref_nrm = self.normals if self.normals is not None else np.zeros_like(self.points)
        comp, nc2 = one_way(self.points, ref_nrm, pred, pred_fn)
        self._last = (acc * self.scale, comp * self.scale)
        acc_m, comp_m = float(acc.mean()) * self.scale, float(comp.mean()) * self.scale
        out = {"chamfer_l1": (acc_m + comp_m) / 2, "accuracy": acc_m, "completeness": comp_m}
        if nc1 is not None and self.normals is not None:
            out["normal_consistency"] = float((nc1.mean() + nc2.mean()) / 2)
        return out
