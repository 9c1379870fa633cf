"""The classical baseline: screened Poisson surface reconstruction (Kazhdan & Hoppe 2013) through Open3D,
with the usual density trimming of the parts the octree invented far from the data."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np


@dataclass
class PoissonResult:
    """vertices (V, 3) float64 and faces (F, 3) int64 in the points' units; densities (V,) per kept vertex
    (how many samples supported it); depth: octree depth used; trim_quantile: share of the lowest-density
    vertices removed; removed_vertices: how many; seconds: wall time of reconstruction and trimming."""

    vertices: np.ndarray
    faces: np.ndarray
    densities: np.ndarray
    depth: int
    trim_quantile: float
    removed_vertices: int
    seconds: float


def auto_depth(n_points: int, lo: int = 6, hi: int = 10) -> int:
    """Octree depth for a cloud of n points on a surface: a leaf per point on a closed surface of about
    the bounding cube's area (4^depth cells cross such a surface), so depth = log4(n) + 1, clamped."""
    return int(min(hi, max(lo, round(math.log(max(n_points, 2), 4)) + 1)))


def poisson_reconstruct(
    points: np.ndarray,
    normals: np.ndarray,
    depth: int | None = None,
    trim_quantile: float = 0.02,
    scale: float = 1.1,
    linear_fit: bool = False,
    threads: int = -1,
) -> PoissonResult:
    """Screened Poisson reconstruction of oriented points.

    points, normals: (N, 3); normals must be consistently oriented (outward). depth: octree depth (None
    picks `auto_depth(N)`). trim_quantile: vertices whose density is below this quantile are removed
    (0 keeps the watertight surface). Raises ValueError without normals.
    """
    import open3d as o3d  # deferred: open3d takes seconds to import

    if normals is None:
        raise ValueError("screened Poisson needs oriented normals: estimate them first")
    pts = np.ascontiguousarray(points, dtype=np.float64)
    nrm = np.ascontiguousarray(normals, dtype=np.float64)
    if pts.shape != nrm.shape or pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"points and normals must both be (N, 3), got {pts.shape} and {nrm.shape}")
    depth = auto_depth(len(pts)) if depth is None else int(depth)
    t0 = time.perf_counter()
    # in a unit box and back: the surface does not depend on a similarity, but Open3D returns non-finite
    # vertices for clouds at 1e30 and crashes at 1e150
    center = (pts.min(axis=0) + pts.max(axis=0)) / 2 if len(pts) else np.zeros(3)
    extent = float(np.ptp(pts, axis=0).max()) if len(pts) else 0.0
    unit = extent if np.isfinite(extent) and extent > 0 else 1.0
    pts = (pts - center) / unit
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
    pcd.normals = o3d.utility.Vector3dVector(nrm)
    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
        mesh, dens = o3d.geometry.TriangleMesh.create_from_point_cloud_poisson(
            pcd, depth=depth, scale=scale, linear_fit=linear_fit, n_threads=threads
        )
    dens = np.asarray(dens)
    removed = 0
    if trim_quantile > 0 and len(dens):
        drop = dens < np.quantile(dens, trim_quantile)
        removed = int(drop.sum())
        mesh.remove_vertices_by_mask(drop)
    verts = np.asarray(mesh.vertices, dtype=np.float64) * unit + center
    faces = np.asarray(mesh.triangles, dtype=np.int64)
    if removed:
        # remove_vertices_by_mask keeps the order of the survivors
        dens = dens[~drop]
    return PoissonResult(verts, faces, dens, depth, float(trim_quantile), removed, time.perf_counter() - t0)
