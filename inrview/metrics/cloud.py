"""How well a surface explains the data it was made from, without a reference: the one-sided distance from
the input points to the surface, and the share of the surface's area far from every input point (spurious
sheets, blobs closing open regions)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as cc
from scipy.spatial import cKDTree

from ..io.geometry import bbox_diagonal, is_watertight
from ..sampling import MeshDistance, sample_surface
from .record import Record


@dataclass
class DataFit(Record):
    """Distances from the input points to the surface, in input units and as a fraction of the points'
    bounding-box diagonal (`*_rel`), plus the far-surface share and watertightness.

    mean/median/p90/max: statistics of the point-to-surface distances; far_area_fraction: share of the
    surface area farther than far_threshold (fraction of the diagonal) from every input point; watertight:
    every edge shared by exactly two consistently oriented faces; components: connected pieces."""

    mean: float
    median: float
    p90: float
    max: float
    mean_rel: float
    p90_rel: float
    far_area_fraction: float
    far_threshold: float
    watertight: bool
    components: int
    diagonal: float

    def summary(self) -> str:
        """One line: relative mean and p90 distance, far area, watertightness and pieces."""
        return (
            f"data->surface mean {self.mean_rel:.2e} p90 {self.p90_rel:.2e} of diag, far area "
            f"{100 * self.far_area_fraction:.2f}% (>{100 * self.far_threshold:g}% diag), "
            f"{'watertight' if self.watertight else 'not watertight'}, {self.components} piece(s)"
        )


def point_to_surface(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(N,) exact distance from each point to the triangle mesh (Open3D raycasting scene)."""
    return MeshDistance(vertices, faces).unsigned(points)


def far_area_fraction(
    vertices: np.ndarray,
    faces: np.ndarray,
    points: np.ndarray,
    threshold: float = 0.02,
    n_samples: int = 200_000,
    seed: int = 0,
) -> float:
    """Share of the surface area farther than threshold * (points' bbox diagonal) from every input point,
    estimated from n_samples area-uniform surface samples."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        return 0.0
    s, _ = sample_surface(v, f, n_samples, np.random.default_rng(seed))
    d, _ = cKDTree(np.asarray(points, dtype=np.float64)).query(s, workers=-1)
    return float((d > threshold * bbox_diagonal(points)).mean())


def connected_components(faces: np.ndarray, n_vertices: int) -> int:
    """Number of face-connected pieces (through shared vertices)."""
    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        return 0
    rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    g = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_vertices, n_vertices))
    n, labels = cc(g, directed=False)
    return int(len(np.unique(labels[np.unique(f)])))


def data_fit(
    points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, far_threshold: float = 0.02, seed: int = 0
) -> DataFit:
    """Everything above for one surface and its input points (all in the same units)."""
    d = point_to_surface(points, vertices, faces)
    diag = bbox_diagonal(points)
    return DataFit(
        float(d.mean()),
        float(np.median(d)),
        float(np.quantile(d, 0.9)),
        float(d.max()),
        float(d.mean() / diag),
        float(np.quantile(d, 0.9) / diag),
        far_area_fraction(vertices, faces, points, far_threshold, seed=seed),
        far_threshold,
        is_watertight(faces),
        connected_components(faces, len(vertices)),
        diag,
    )
