"""Surface quality measures: Chamfer-L1, normal consistency, F-score, IoU.

Distances are reported in normalised units, where the reference's longest bounding-box side is 2, and in
the input's units. Chamfer-L1 here is point-to-surface: points sampled on one surface, exact distances to
the other surface (not to its samples), averaged both ways.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..sampling import MeshDistance, face_normals_areas, sample_surface
from .record import Record


@dataclass
class DistanceScores(Record):
    """What every surface comparison reports first: Chamfer-L1 (mean of accuracy and completeness) in
    normalised units, and the F-score with its precision and recall."""

    chamfer_l1: float
    accuracy: float
    completeness: float
    f_score: float
    precision: float
    recall: float


@dataclass
class SurfaceMetrics(DistanceScores):
    """A surface against a reference: Chamfer-L1 (mean of accuracy and completeness) in normalised units
    and in input units, F-score with its precision and recall at `threshold`, normal consistency, volume
    IoU (None unless the reference is a watertight mesh), and `scale`, normalised units per input unit."""

    normal_consistency: float
    iou: float | None
    threshold: float
    chamfer_l1_input_units: float
    scale: float  # normalised units per input unit

    def summary(self) -> str:
        """One line: Chamfer-L1, F-score, normal consistency and IoU."""
        iou = f"  IoU {self.iou:.4f}" if self.iou is not None else ""
        return (
            f"Chamfer-L1 {self.chamfer_l1:.3e} ({self.chamfer_l1_input_units:.3e} input units)  "
            f"F@{self.threshold:g} {self.f_score:.4f}  NC {self.normal_consistency:.4f}{iou}"
        )


def normalised_scale(vertices: np.ndarray) -> float:
    """Factor from input units to normalised units (longest bounding-box side = 2)."""
    ext = np.ptp(np.asarray(vertices, dtype=np.float64), axis=0).max()
    return 2.0 / ext if ext > 0 else 1.0


def one_way(
    src_pts: np.ndarray, src_nrm: np.ndarray, target: MeshDistance, target_face_normals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """From (N, 3) points with (N, 3) unit normals to a target mesh (its (F, 3) face normals): the (N,)
    exact distances to the surface and the (N,) |cos| between each normal and the closest face's normal."""
    res = target._scene.compute_closest_points(target._o3d.core.Tensor(src_pts.astype(np.float32)))
    closest = res["points"].numpy().astype(np.float64)
    d = np.linalg.norm(closest - src_pts, axis=1)
    tri = res["primitive_ids"].numpy().astype(np.int64)
    nc = np.abs(np.sum(src_nrm * target_face_normals[tri], axis=1))
    return d, nc


def surface_metrics(
    pred_vertices: np.ndarray,
    pred_faces: np.ndarray,
    ref_vertices: np.ndarray,
    ref_faces: np.ndarray | None = None,
    ref_normals: np.ndarray | None = None,
    n_samples: int = 200_000,
    threshold: float = 0.01,
    iou_samples: int = 500_000,
    seed: int = 0,
) -> SurfaceMetrics:
    """Compare a predicted mesh with a reference mesh (or, when ref_faces is None, with reference points:
    then completeness uses the points themselves and normal consistency needs ref_normals).

    threshold: F-score distance in normalised units. IoU is computed only for a watertight reference mesh.
    """
    rng = np.random.default_rng(seed)
    scale = normalised_scale(ref_vertices)
    pred_v = np.asarray(pred_vertices, np.float64) * scale
    ref_v = np.asarray(ref_vertices, np.float64) * scale
    pred_fn, _ = face_normals_areas(pred_v, pred_faces)
    pred_dist = MeshDistance(pred_v, pred_faces, sign="parity")
    p_pts, p_nrm = sample_surface(pred_v, pred_faces, n_samples, rng)
    if ref_faces is not None:
        ref_fn, _ = face_normals_areas(ref_v, ref_faces)
        ref_dist = MeshDistance(ref_v, ref_faces)
        r_pts, r_nrm = sample_surface(ref_v, ref_faces, n_samples, rng)
        acc, nc1 = one_way(p_pts, p_nrm, ref_dist, ref_fn)
    else:
        ref_dist = None
        idx = rng.choice(len(ref_v), min(n_samples, len(ref_v)), replace=False)
        r_pts = ref_v[idx]
        r_nrm = None if ref_normals is None else np.asarray(ref_normals, np.float64)[idx]
        acc, nn = cKDTree(ref_v).query(p_pts, workers=-1)  # points only: distance to the nearest point
        nc1 = None if ref_normals is None else np.abs(np.sum(p_nrm * np.asarray(ref_normals)[nn], axis=1))
    comp, nc2 = one_way(r_pts, r_nrm if r_nrm is not None else np.zeros_like(r_pts), pred_dist, pred_fn)
    if nc1 is None or r_nrm is None:
        nc = float("nan")
    else:
        nc = float((nc1.mean() + nc2.mean()) / 2)
    precision, recall = float((acc < threshold).mean()), float((comp < threshold).mean())
    f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    iou = None
    if ref_dist is not None and ref_dist.watertight:
        iou = volume_iou(pred_dist, ref_dist, np.vstack([pred_v, ref_v]), iou_samples, rng)
    cd = float((acc.mean() + comp.mean()) / 2)
    return SurfaceMetrics(
        cd, float(acc.mean()), float(comp.mean()), float(f), precision, recall, nc, iou, threshold, cd / scale, scale
    )


def volume_iou(a: MeshDistance, b: MeshDistance, points: np.ndarray, n: int, rng) -> float:
    """Intersection over union of two closed volumes by uniform samples in their joint bounding box."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = 0.02 * (hi - lo).max()
    q = rng.uniform(lo - pad, hi + pad, (n, 3))
    ia, ib = a.inside(q), b.inside(q)
    union = np.logical_or(ia, ib).sum()
    return float(np.logical_and(ia, ib).sum() / union) if union else 0.0
