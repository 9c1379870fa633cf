"""Removing the small closed pieces a field can leave beside its main surface (bubbles around a few noisy
points). Every piece of a marching-cubes surface is closed, so dropping whole pieces keeps it watertight."""
from __future__ import annotations

import numpy as np

from ..sampling import face_normals_areas


def face_components(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """(F,) label of the connected piece (through shared vertices) each face belongs to."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    f = np.asarray(faces, dtype=np.int64)
    rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    g = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_vertices, n_vertices))
    _, labels = connected_components(g, directed=False)
    return labels[f[:, 0]]


def drop_small_components(vertices: np.ndarray, faces: np.ndarray, min_fraction: float = 0.01
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
