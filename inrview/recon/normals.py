"""Normals for point clouds: PCA estimation and consistent orientation (Open3D), with a report of how many
normals the orientation flipped.

Orientation follows Hoppe et al. 1992: propagate a consistent sign over a minimum spanning tree of the
k-nearest-neighbour graph weighted by 1 - |n_i . n_j| (Open3D's `orient_normals_consistent_tangent_plane`),
then choose the global sign that makes the normals of the convex-hull points face outward.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.spatial import ConvexHull, QhullError, cKDTree

from ..metrics.record import Record

NormalMode = Literal["auto", "file", "orient", "estimate", "none"]
NORMAL_MODES = ("auto", "file", "orient", "estimate", "none")


@dataclass
class NormalReport(Record):
    """What happened to the normals of a cloud.

    source: 'file' (used as given), 'file, re-oriented', 'estimated', or 'none' (normal-free training);
    points: how many; k: neighbours used for estimation/orientation (None when untouched);
    flipped: normals whose sign the orientation reversed (relative to the file's normals, or to the PCA
    estimate facing away from the centroid); outward_votes: share of convex-hull points whose normal faces
    outward after orienting;
    agreement: share of estimated normals agreeing in sign with the file's normals (None without file
    normals); seconds: time spent."""

    source: str
    points: int
    k: int | None = None
    flipped: int = 0
    outward_votes: float | None = None
    agreement: float | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        """One line: where the normals came from, how many were flipped and how many agree with the file's."""
        if self.source in ("file", "none"):
            return f"normals: {self.source} ({self.points} points)"
        s = f"normals: {self.source} for {self.points} points (k={self.k}), {self.flipped} flipped by orientation"
        if self.agreement is not None:
            s += f", {100 * self.agreement:.1f}% agree with the file's"
        return s + f" ({self.seconds:.1f} s)"


def _cloud(points, normals=None):
    import open3d as o3d  # deferred: open3d takes seconds to import

    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.ascontiguousarray(points, dtype=np.float64)))
    if normals is not None:
        pcd.normals = o3d.utility.Vector3dVector(np.ascontiguousarray(normals, dtype=np.float64))
    return pcd


def outward_sign(points: np.ndarray, normals: np.ndarray) -> tuple[float, float]:
    """(+1 or -1, share of votes): the global sign that makes normals on the convex hull face away from
    the hull's interior. Hull points of a closed surface have outward normals with a positive component
    along the hull's outward face normal; each hull point votes with its best-aligned hull face."""
    try:
        hull = ConvexHull(points)
    except (QhullError, ValueError):  # flat or degenerate clouds: fall back to the centroid rule
        c = points.mean(axis=0)
        dots = np.einsum("ij,ij->i", normals, points - c)
        share = float((dots > 0).mean())
        return (1.0, share) if share >= 0.5 else (-1.0, 1.0 - share)
    eq = hull.equations  # (F, 4): outward unit normal and offset
    idx = np.unique(hull.simplices)
    dist = points[idx] @ eq[:, :3].T + eq[:, 3]  # 0 on the faces the point lies on, negative elsewhere
    face = np.argmax(dist, axis=1)
    dots = np.einsum("ij,ij->i", normals[idx], eq[face, :3])
    share = float((dots > 0).mean())
    return (1.0, share) if share >= 0.5 else (-1.0, 1.0 - share)


def orientation_consistency(
    points: np.ndarray, normals: np.ndarray, k: int = 10, sample: int = 20_000, seed: int = 0
) -> float:
    """Share of neighbour pairs whose normals agree in sign, among pairs that are not nearly perpendicular
    (|cos| > 0.5), on up to `sample` points: about 1 for oriented normals, about 0.5 for unoriented ones."""
    pts = np.asarray(points, dtype=np.float64)
    nrm = np.asarray(normals, dtype=np.float64)
    if len(pts) < 3:
        return 1.0
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(pts), min(sample, len(pts)), replace=False)
    _, nb = cKDTree(pts).query(pts[idx], k=min(k + 1, len(pts)), workers=-1)
    dots = np.einsum("ic,ikc->ik", nrm[idx], nrm[nb[:, 1:]])
    strong = np.abs(dots) > 0.5
    return float((dots[strong] > 0).mean()) if strong.any() else 1.0


def orient_normals(points: np.ndarray, normals: np.ndarray, k: int = 20) -> tuple[np.ndarray, int, float]:
    """Consistently oriented copy of unoriented normals; returns (normals, flipped, outward_votes).

    flipped counts normals whose sign differs from the input's."""
    pts = np.asarray(points, dtype=np.float64)
    before = np.asarray(normals, dtype=np.float64)
    pcd = _cloud(pts, before)
    pcd.orient_normals_consistent_tangent_plane(int(min(k, len(pts) - 1)))
    out = np.asarray(pcd.normals, dtype=np.float64).copy()
    sign, votes = outward_sign(pts, out)
    out *= sign
    flipped = int((np.einsum("ij,ij->i", out, before) < 0).sum())
    return out, flipped, votes


def estimate_normals(
    points: np.ndarray, k: int = 30, orient: bool = True, orient_k: int = 20
) -> tuple[np.ndarray, NormalReport]:
    """PCA normals from the k nearest neighbours, consistently oriented and facing outward.

    Returns (normals (N, 3) float64, report); report.flipped counts normals the orientation reversed
    relative to the PCA estimate turned to face away from the centroid."""
    import open3d as o3d  # deferred: open3d takes seconds to import

    t0 = time.perf_counter()
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) < 4:
        raise ValueError("need at least 4 points to estimate normals")
    k = int(min(k, len(pts) - 1))
    pcd = _cloud(pts)
    pcd.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(k))
    raw = np.asarray(pcd.normals, dtype=np.float64).copy()
    # PCA's signs are arbitrary (about half would count as "flipped" by anything): start from the usual
    # first guess, facing away from the centroid, so that the flip count says how many normals the
    # consistent orientation had to turn against that guess (concavities, thin parts)
    away = np.einsum("ij,ij->i", raw, pts - pts.mean(axis=0))
    raw[away < 0] *= -1
    flipped, votes = 0, None
    normals = raw
    if orient:
        normals, flipped, votes = orient_normals(pts, raw, orient_k)
    return normals, NormalReport("estimated", len(pts), k, flipped, votes, None, time.perf_counter() - t0)


def prepare_normals(
    points: np.ndarray, normals: np.ndarray | None, mode: NormalMode = "auto", k: int = 30, orient_k: int = 20
) -> tuple[np.ndarray | None, NormalReport]:
    """The normals training should use, by mode:

    'auto': the file's normals when present, else estimated ones; 'file': the file's (error without);
    'orient': the file's directions re-oriented consistently (for scans with unoriented normals);
    'estimate': estimated from the points, ignoring the file's; 'none': no normals (normal-free loss)."""
    pts = np.asarray(points, dtype=np.float64)
    if mode not in NORMAL_MODES:
        raise ValueError(f"unknown normals mode {mode!r} (choose {', '.join(NORMAL_MODES)})")
    if mode == "none":
        return None, NormalReport("none", len(pts))
    if mode in ("file", "orient") and normals is None:
        raise ValueError(f"normals mode '{mode}' needs normals in the file, and it has none")
    if mode == "file" or (mode == "auto" and normals is not None):
        return np.asarray(normals, dtype=np.float64), NormalReport("file", len(pts))
    if mode == "orient":
        t0 = time.perf_counter()
        out, flipped, votes = orient_normals(pts, normals, orient_k)
        return out, NormalReport(
            "file, re-oriented", len(pts), orient_k, flipped, votes, None, time.perf_counter() - t0
        )
    est, rep = estimate_normals(pts, k, True, orient_k)
    if normals is not None:
        rep.agreement = float((np.einsum("ij,ij->i", est, normals) > 0).mean())
    return est, rep
