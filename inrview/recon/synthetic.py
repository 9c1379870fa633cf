"""Point clouds sampled from meshes, for benchmarks and tests: area-uniform points with their face normals,
optionally with isotropic Gaussian noise on the positions (a scanner's error; normals stay exact)."""
from __future__ import annotations

import numpy as np

from ..sampling import sample_surface


def bbox_diagonal(points: np.ndarray) -> float:
    """Length of the axis-aligned bounding box's diagonal."""
    p = np.asarray(points, dtype=np.float64)
    return float(np.linalg.norm(p.max(axis=0) - p.min(axis=0)))


def sample_cloud(vertices: np.ndarray, faces: np.ndarray, n: int, noise: float = 0.0,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n points uniformly by area on the mesh with the normals of their faces.

    noise: standard deviation of the Gaussian added to every coordinate, as a fraction of the mesh's
    bounding-box diagonal (0.0025 = 0.25%). Returns points (n, 3) and unit normals (n, 3), float64.
    """
    rng = np.random.default_rng(seed)
    v = np.asarray(vertices, dtype=np.float64)
    pts, nrm = sample_surface(v, np.asarray(faces, dtype=np.int64), int(n), rng)
    if noise > 0:
        pts = pts + rng.normal(0.0, noise * bbox_diagonal(v), pts.shape)
    return pts, nrm
