"""Training samples: points with signed-distance or occupancy targets, and oriented surface points.

- here: `mesh_samples(vertices, faces, cfg) -> SampleSet` for meshes; `targets`: their signed distances;
  `cache`: the per-user cache of such samples;
- `cloud`: volume samples around a point cloud (point scales, winding-number sign, distance band);
- `pixels`: the image plane as a continuous domain (pixel centres and sizes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import SamplingConfig
from ..io.surface import face_normals_areas, sample_surface
from .targets import MeshDistance

__all__ = ["SampleSet", "mesh_samples", "MeshDistance", "sample_surface", "face_normals_areas"]


@dataclass
class SampleSet:
    """A pool of training samples in normalised coordinates.

    points: (N, 3) float32; sdf: (N,) float32 signed distance (negative inside; occupancy is sdf < 0).
    surface_points / surface_normals: (S, 3) oriented surface samples, for gradient-based losses.
    """

    points: np.ndarray
    sdf: np.ndarray
    surface_points: np.ndarray | None = None
    surface_normals: np.ndarray | None = None

    @property
    def occupancy(self) -> np.ndarray:
        """(N,) 1 inside, 0 outside, 0.5 exactly on the surface (so the 0.5 level is the surface)."""
        return np.where(self.sdf < 0, 1.0, np.where(self.sdf > 0, 0.0, 0.5)).astype(np.float32)

    def __len__(self) -> int:
        return len(self.points)


def split_counts(n: int, cfg: SamplingConfig) -> tuple[int, int, int, int]:
    """n split into (surface, near, far, uniform) sample counts in the configured proportions (cfg.mix,
    checked by SamplingConfig); the counts sum to n."""
    fr = np.array(cfg.mix, float)
    counts = np.floor(fr / fr.sum() * n).astype(int)
    counts[-1] += n - counts.sum()
    return tuple(int(c) for c in counts)


def mesh_samples(
    vertices: np.ndarray,
    faces: np.ndarray,
    cfg: SamplingConfig = SamplingConfig(),
    seed: int = 0,
    distance: MeshDistance | None = None,
) -> SampleSet:
    """Surface, near-surface (two Gaussian scales) and uniform samples with signed-distance targets.

    vertices must already be in normalised coordinates (the unit cube [-1, 1]^3).
    """
    rng = np.random.default_rng(seed)
    n_surf, n_near, n_far, n_uni = split_counts(cfg.n_samples, cfg)
    dist = distance or MeshDistance(vertices, faces)
    base, normals = sample_surface(vertices, faces, n_surf + n_near + n_far, rng)
    surf = base[:n_surf]
    sigma_near, sigma_far = cfg.sigmas
    near = base[n_surf : n_surf + n_near] + rng.normal(0, sigma_near, (n_near, 3))
    far = base[n_surf + n_near :] + rng.normal(0, sigma_far, (n_far, 3))
    uni = rng.uniform(-1, 1, (n_uni, 3))
    off = np.clip(np.concatenate([near, far, uni]), -1, 1)
    sdf_off = dist.signed(off)
    points = np.concatenate([surf, off]).astype(np.float32)
    sdf = np.concatenate([np.full(n_surf, dist.surface_value), sdf_off]).astype(np.float32)
    return SampleSet(points, sdf, surf.astype(np.float32), normals[:n_surf].astype(np.float32))
