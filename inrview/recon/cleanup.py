"""Removing the small closed pieces a field can leave beside its main surface (bubbles around a few noisy
points). Every piece of a marching-cubes surface is closed, so dropping whole pieces keeps it watertight."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ..sampling import face_normals_areas


def weld(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge vertices at exactly the same position (marching cubes emits one per edge when a grid value is
    exactly zero, which leaves the surface looking open there) and drop the faces that collapse."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    uniq, inverse = np.unique(v, axis=0, return_inverse=True)
    if len(uniq) == len(v):
        return v, f
    f = inverse.reshape(-1)[f]
    good = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 2] != f[:, 0])
    return uniq, f[good]


def face_components(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """(F,) label of the connected piece (through shared vertices) each face belongs to."""
    f = np.asarray(faces, dtype=np.int64)
    rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    g = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_vertices, n_vertices))
    _, labels = connected_components(g, directed=False)
    return labels[f[:, 0]]


def drop_small_components(
    vertices: np.ndarray, faces: np.ndarray, min_fraction: float = 0.01
) -> tuple[np.ndarray, np.ndarray, int]:
    """Remove the pieces whose area is below min_fraction of the largest piece's area.

    Returns (vertices, faces, pieces removed); unused vertices are dropped and faces re-indexed."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0 or min_fraction <= 0:
        return v, f, 0
    labels = face_components(f, len(v))
    _, areas = face_normals_areas(v, f)
    piece_area = np.bincount(labels, weights=areas)
    present = np.unique(labels)
    keep_piece = piece_area >= min_fraction * piece_area.max()
    removed = int((~keep_piece[present]).sum())
    if removed == 0:
        return v, f, 0
    f = f[keep_piece[labels]]
    used = np.unique(f)
    remap = np.full(len(v), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return v[used], remap[f], removed


def trim_far(
    vertices: np.ndarray, faces: np.ndarray, points: np.ndarray, factor: float = 3.0, k: int = 10
) -> tuple[np.ndarray, np.ndarray, float]:
    """Remove the faces whose centre is farther from every input point than factor x that point's
    scale (its distance to its k-th neighbour): the caps a watertight surface puts over the holes of an
    open scan. The result is open where that happens. Returns (vertices, faces, share of area removed)."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    pts = np.asarray(points, dtype=np.float64)
    if len(f) == 0 or factor <= 0:
        return v, f, 0.0
    tree = cKDTree(pts)
    kk = int(min(k, len(pts) - 1))
    scale = tree.query(pts, k=kk + 1, workers=-1)[0][:, -1] if kk >= 1 else np.zeros(len(pts))
    d, j = tree.query(v[f].mean(axis=1), workers=-1)
    keep = d <= factor * scale[j]
    _, areas = face_normals_areas(v, f)
    removed = float(areas[~keep].sum() / max(areas.sum(), 1e-300))
    f = f[keep]
    used = np.unique(f)
    remap = np.full(len(v), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return v[used], remap[f], removed
