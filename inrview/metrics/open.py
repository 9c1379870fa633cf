"""Measures of open surfaces, against an open reference: two-sided Chamfer-L1, F-score at 0.5% and 1% of the
longest side, area ratio, boundary edges; and the defects an extracted mesh must not have (non-manifold
edges, self-intersections).

Volume IoU has no meaning for a sheet, and the signed measures' reference distance (MeshDistance with a
sign) would close an open reference; here every distance is unsigned. Distances are in normalised units
(the reference's longest bounding-box side is 2), so 1% of the longest side is 0.02.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..extract.crossings import crossing_pairs
from ..sampling import MeshDistance, face_normals_areas, sample_surface
from ..sampling.unsigned import mesh_topology
from .surface import DistanceScores, normalised_scale

#: F-score thresholds as fractions of the reference's longest bounding-box side.
F_FRACTIONS = (0.005, 0.01)


@dataclass
class OpenSurfaceMetrics(DistanceScores):
    """A surface against an open reference. chamfer_l1 (mean of accuracy and completeness), accuracy and
    completeness in normalised units; f_score / precision / recall at 1% of the longest side, f_score_half
    at 0.5%; area_ratio = area / reference area (None against points); boundary_edges of the surface and
    of the reference (None against points); non_manifold_edges of the surface; scale = normalised units
    per input unit."""

    f_score_half: float
    area_ratio: float | None
    boundary_edges: int
    reference_boundary_edges: int | None
    non_manifold_edges: int
    threshold: float
    chamfer_l1_input_units: float
    scale: float
    kind: str = "open"

    def summary(self) -> str:
        """One line: Chamfer-L1, F-scores, area ratio and boundary edges."""
        area = f"  area x{self.area_ratio:.3f}" if self.area_ratio is not None else ""
        ref = f" (reference {self.reference_boundary_edges})" if self.reference_boundary_edges is not None else ""
        return (
            f"Chamfer-L1 {self.chamfer_l1:.3e} ({self.chamfer_l1_input_units:.3e} input units)  "
            f"F@1% {self.f_score:.4f}  F@0.5% {self.f_score_half:.4f}{area}  "
            f"boundary edges {self.boundary_edges}{ref}"
        )


def f_score(acc: np.ndarray, comp: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """(F-score, precision, recall) of one-way distances acc (surface -> reference) and comp at threshold."""
    p, r = float((acc < threshold).mean()), float((comp < threshold).mean())
    return (2 * p * r / (p + r) if p + r > 0 else 0.0), p, r


def area(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Total area of a triangle mesh."""
    return float(face_normals_areas(np.asarray(vertices, np.float64), np.asarray(faces, np.int64))[1].sum())


def open_surface_metrics(
    pred_vertices: np.ndarray,
    pred_faces: np.ndarray,
    ref_vertices: np.ndarray,
    ref_faces: np.ndarray | None = None,
    n_samples: int = 200_000,
    seed: int = 0,
) -> OpenSurfaceMetrics:
    """Compare a surface with an open reference mesh (or reference points when ref_faces is None: then the
    completeness uses the points themselves and there is no area ratio), all distances unsigned."""
    rng = np.random.default_rng(seed)
    scale = normalised_scale(ref_vertices)
    pv = np.asarray(pred_vertices, np.float64) * scale
    rv = np.asarray(ref_vertices, np.float64) * scale
    pf = np.asarray(pred_faces, np.int64)
    p_pts, _ = sample_surface(pv, pf, n_samples, rng)
    if ref_faces is not None:
        rf = np.asarray(ref_faces, np.int64)
        r_pts, _ = sample_surface(rv, rf, n_samples, rng)
        acc = MeshDistance(rv, rf, sign="parity").unsigned(p_pts)
        ratio, ref_bnd = area(pv, pf) / max(area(rv, rf), 1e-30), mesh_topology(rf).boundary_edges
    else:
        from scipy.spatial import cKDTree

        r_pts = rv[rng.choice(len(rv), min(n_samples, len(rv)), replace=False)]
        acc, _ = cKDTree(rv).query(p_pts, workers=-1)
        ratio, ref_bnd = None, None
    comp = MeshDistance(pv, pf, sign="parity").unsigned(r_pts)
    half, _, _ = f_score(acc, comp, 2 * F_FRACTIONS[0])
    f1, prec, rec = f_score(acc, comp, 2 * F_FRACTIONS[1])
    topo = mesh_topology(pf)
    cd = float((acc.mean() + comp.mean()) / 2)
    return OpenSurfaceMetrics(
        cd,
        float(acc.mean()),
        float(comp.mean()),
        f1,
        prec,
        rec,
        half,
        ratio,
        topo.boundary_edges,
        ref_bnd,
        topo.non_manifold_edges,
        2 * F_FRACTIONS[1],
        cd / scale,
        scale,
    )


def self_intersections(vertices: np.ndarray, faces: np.ndarray) -> int:
    """Number of pairs of triangles that cross each other without sharing a vertex (extract.crossings: exact
    tests among the triangles that share a cell of a hash grid, seconds for a mesh of half a million faces)."""
    return len(crossing_pairs(vertices, faces))
