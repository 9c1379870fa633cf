"""Area-uniform samples on a triangle mesh."""

from __future__ import annotations

import numpy as np


def face_normals_areas(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(M, 3) unit face normals (zero for degenerate faces) and (M,) areas."""
    v0, v1, v2 = (vertices[faces[:, i]] for i in range(3))
    cross = np.cross(v1 - v0, v2 - v0)
    norm = np.linalg.norm(cross, axis=1)
    normals = np.where(norm[:, None] > 0, cross / np.where(norm > 0, norm, 1.0)[:, None], 0.0)
    return normals, 0.5 * norm


def sample_surface(
    vertices: np.ndarray, faces: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """n points uniformly by area on the mesh, with the normal of the face each lies on.

    Returns points (n, 3) float64 and normals (n, 3) float64.
    """
    normals, areas = face_normals_areas(vertices, faces)
    total = areas.sum()
    if not total > 0:
        raise ValueError("mesh has zero surface area")
    idx = rng.choice(len(faces), size=n, p=areas / total)
    r1, r2 = rng.random(n), rng.random(n)
    s = np.sqrt(r1)
    a, b, c = 1.0 - s, s * (1.0 - r2), s * r2
    f = faces[idx]
    pts = a[:, None] * vertices[f[:, 0]] + b[:, None] * vertices[f[:, 1]] + c[:, None] * vertices[f[:, 2]]
    return pts, normals[idx]


def sample_cloud(
    vertices: np.ndarray, faces: np.ndarray, n: int, noise: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic scan: n points uniformly by area on the mesh with the normals of their faces.

    noise: standard deviation of the Gaussian added to every coordinate, as a fraction of the mesh's
    bounding-box diagonal (0.0025 = 0.25%). Returns points (n, 3) and unit normals (n, 3), float64.
    """
    rng = np.random.default_rng(seed)
    v = np.asarray(vertices, dtype=np.float64)
    pts, nrm = sample_surface(v, np.asarray(faces, dtype=np.int64), int(n), rng)
    if noise > 0:
        pts = pts + rng.normal(0.0, noise * float(np.linalg.norm(v.max(axis=0) - v.min(axis=0))), pts.shape)
    return pts, nrm
