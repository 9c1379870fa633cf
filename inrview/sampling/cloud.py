"""Volume samples around a point cloud: per-point scales, the winding-number sign, the distance band.

Volume samples are drawn once into a pool: input points moved by a Gaussian whose standard deviation is
the point's own scale, its distance to the k-th nearest neighbour (IGR, Sec. 5), so sparse regions are
explored more widely than dense ones; the same at a coarser scale; and uniform points in the cube. Each
sample carries its distance to the nearest input point and, with oriented normals, the sign given by the
generalised winding number of the oriented points (Barill et al. 2018, Sec. 3.4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..config import CloudLossConfig, ModelConfig


def knn_distance(points: np.ndarray, k: int, tree=None) -> np.ndarray:
    """(N,) distance of each point to its k-th nearest neighbour, itself excluded."""
    pts = np.asarray(points, dtype=np.float64)
    k = int(min(k, len(pts) - 1))
    if k < 1:
        return np.full(len(pts), np.inf)
    d, _ = (tree or cKDTree(pts)).query(pts, k=k + 1, workers=-1)
    return d[:, -1]


def point_scales(points: np.ndarray, k: int = 10, lo: float = 0.002, hi: float = 0.2, knn=None) -> np.ndarray:
    """(N,) per-point sampling scale: the distance to the k-th nearest neighbour, clamped to [lo, hi]
    (knn: those distances when already known)."""
    return np.clip(knn_distance(points, k) if knn is None else knn, lo, hi)


def point_areas(points: np.ndarray, k: int = 10, knn=None) -> np.ndarray:
    """(N,) surface area each point stands for: k points share the disc out to the k-th neighbour."""
    r = knn_distance(points, k) if knn is None else knn
    r = np.where(np.isfinite(r), r, 0.0)
    return np.pi * r**2 / max(1, min(k, len(points) - 1))


#: The winding number of a cloud is evaluated from at most this many of its points (it only decides
#: signs away from the data, where a subsample gives the same answer).
WINDING_POINTS = 20_000


def winding_number(
    points: np.ndarray,
    normals: np.ndarray,
    queries: np.ndarray,
    k: int = 10,
    max_points: int = WINDING_POINTS,
    seed: int = 0,
) -> np.ndarray:
    """(Q,) generalised winding number of an oriented point cloud at the queries (about 1 inside a
    closed surface, 0 outside, in between near holes), by libigl's fast Barnes-Hut evaluation on up to
    max_points of the points (each standing for its share of the area)."""
    import igl  # deferred: libigl loads on first use

    p = np.asarray(points, dtype=np.float64)
    n = np.asarray(normals, dtype=np.float64)
    if len(p) > max_points:
        idx = np.random.default_rng(seed).choice(len(p), max_points, replace=False)
        p, n = p[idx], n[idx]
    p, n = np.ascontiguousarray(p), np.ascontiguousarray(n)
    return igl.fast_winding_number(p, n, point_areas(p, k), np.ascontiguousarray(queries, dtype=np.float64))


@dataclass
class VolumePool:
    """Volume samples with their band: points (M, 3); dist (M,) distance to the nearest input point;
    slack (M,) delta; sign (M,) +1 outside, -1 inside, 0 unknown or not needed."""

    points: np.ndarray
    dist: np.ndarray
    slack: np.ndarray
    sign: np.ndarray


def volume_pool(
    points: np.ndarray, normals: np.ndarray | None, scales: np.ndarray, loss: CloudLossConfig, seed: int = 0, tree=None
) -> VolumePool:
    """Draw the volume samples of a cloud (normalised coordinates) and compute their bands and signs.

    Signs come from the winding number of the oriented points and are computed only where the band's
    lower bound is positive (elsewhere the band bounds |f| from above only)."""
    rng = np.random.default_rng(seed)
    m = int(loss.pool_size)
    mix = np.asarray(loss.pool_mix, dtype=np.float64)
    counts = np.floor(mix / mix.sum() * m).astype(int)
    counts[-1] = m - counts[:-1].sum()
    pts = np.asarray(points, dtype=np.float64)
    parts = []
    for factor, c in ((1.0, counts[0]), (4.0, counts[1])):
        i = rng.integers(0, len(pts), c)
        parts.append(pts[i] + rng.normal(size=(c, 3)) * (factor * scales[i])[:, None])
    parts.append(rng.uniform(-1, 1, (counts[2], 3)))
    q = np.clip(np.concatenate(parts), -1, 1)
    d, j = (tree or cKDTree(pts)).query(q, workers=-1)
    slack = loss.band_slack * scales[j]
    sign = np.zeros(len(q))
    if normals is not None and loss.use_sign:
        need = d > slack
        if need.any():
            w = winding_number(pts, normals, q[need], loss.scale_k, seed=seed)
            sign[need] = np.where(w > 0.6, -1.0, np.where(w < 0.4, 1.0, 0.0))
    return VolumePool(q.astype(np.float32), d.astype(np.float32), slack.astype(np.float32), sign.astype(np.float32))


def finest_cell(model_cfg: ModelConfig) -> float | None:
    """Cell size of the finest grid level of a grid encoding, in normalised units (None otherwise)."""
    if model_cfg.kind != "grid":
        return None
    return 2.0 / float(model_cfg.grid.max_resolution)
