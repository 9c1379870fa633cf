"""Training samples for every shape of a collection, drawn once into an on-disk cache.

Meshes get the same samples a single-shape fit gets (mesh_samples: exact distances from Open3D's
raycasting scene, signs by parity or winding number). Point clouds get the distance to the nearest cloud
point, signed by that point's normal (normals estimated and oriented with Open3D when the file has none).

The cache lives in the sample cache folder (cache.cache_dir()/space) and survives restarts. An entry is
keyed by the hash of the member file's bytes, the normalisation applied to it, the sampling settings, the
seed and this module's format version; the unit-space geometry is not hashed (a 1M-vertex mesh hashes in
milliseconds from its file, not from its arrays). Unusable entries are simply computed again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from ..config import SamplingConfig
from ..config.space import SPACE_SAMPLING
from ..io.geometry import Geometry, Normalization
from . import SampleSet, cache, mesh_samples, split_counts

FORMAT = 1


def file_digest(path: str) -> str:
    """blake2b hex digest of a file's bytes ('' when it cannot be read)."""
    h = hashlib.blake2b(digest_size=20)
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return ""
    return h.hexdigest()


def shape_key(source: str, norm: Normalization, cfg: SamplingConfig, seed: int) -> str | None:
    """The cache key of one member's samples, or None when its file cannot be hashed."""
    digest = file_digest(source) if source else ""
    if not digest:
        return None
    meta = json.dumps(
        {"format": FORMAT, "file": digest, "norm": norm.to_dict(), "sampling": cfg.to_dict(), "seed": int(seed)},
        sort_keys=True,
    )
    return hashlib.blake2b(meta.encode(), digest_size=20).hexdigest()


def cloud_samples(points: np.ndarray, normals: np.ndarray | None, cfg: SamplingConfig, seed: int = 0) -> SampleSet:
    """Samples around an oriented point cloud (normalised coordinates): the distance to the nearest cloud
    point, negative where the offset points against that point's normal.

    points, normals: (N, 3). Returns a SampleSet of cfg.n_samples points."""
    rng = np.random.default_rng(seed)
    pts = np.asarray(points, np.float64)
    nrm = estimate_oriented_normals(pts) if normals is None else np.asarray(normals, np.float64)
    n_surf, n_near, n_far, n_uni = split_counts(cfg.n_samples, cfg)
    idx = rng.integers(0, len(pts), n_surf + n_near + n_far)
    base = pts[idx]
    near = base[n_surf : n_surf + n_near] + rng.normal(0, cfg.sigma_near, (n_near, 3))
    far = base[n_surf + n_near :] + rng.normal(0, cfg.sigma_far, (n_far, 3))
    off = np.clip(np.concatenate([near, far, rng.uniform(-1, 1, (n_uni, 3))]), -1, 1)
    d, nn = cKDTree(pts).query(off, workers=-1)
    sign = np.where(np.sum((off - pts[nn]) * nrm[nn], axis=1) < 0, -1.0, 1.0)
    surf = base[:n_surf]
    return SampleSet(
        np.concatenate([surf, off]).astype(np.float32),
        np.concatenate([np.zeros(n_surf), sign * d]).astype(np.float32),
        surf.astype(np.float32),
        nrm[idx[:n_surf]].astype(np.float32),
    )


def estimate_oriented_normals(points: np.ndarray, k: int = 30) -> np.ndarray:
    """(N, 3) unit normals by Open3D (PCA over k neighbours, oriented over a tangent-plane graph), flipped
    so that most point away from the centroid."""
    import open3d as o3d  # deferred: open3d takes seconds to import

    pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, np.float64)))
    pc.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(k))
    pc.orient_normals_consistent_tangent_plane(min(k, 15))
    nrm = np.asarray(pc.normals)
    if np.mean(np.sum((points - points.mean(axis=0)) * nrm, axis=1)) < 0:
        nrm = -nrm
    return nrm


def shape_samples(shape: Geometry, cfg: SamplingConfig = SPACE_SAMPLING, seed: int = 0) -> SampleSet:
    """Samples of one shape in normalised coordinates (mesh or point cloud), without the cache."""
    if shape.is_mesh:
        return mesh_samples(shape.vertices, shape.faces, cfg, seed=seed)
    return cloud_samples(shape.vertices, shape.normals, cfg, seed=seed)


def cached_shape_samples(
    shape: Geometry, norm: Normalization, cfg: SamplingConfig = SPACE_SAMPLING, seed: int = 0
) -> tuple[SampleSet, bool]:
    """shape_samples from the cache when present (else computed and stored). Returns (samples, hit)."""
    key = shape_key(shape.source, norm, cfg, seed) if cache.enabled() else None
    path = cache.cache_dir() / "space" / f"{key}.npz" if key else None
    hit = cache.load(path) if path is not None and path.exists() else None
    if hit is not None:
        return hit, True
    samples = shape_samples(shape, cfg, seed)
    if path is not None:
        cache.save(path, samples)
    return samples, False


def collection_samples(
    shapes: list[Geometry],
    norms: list[Normalization],
    indices: list[int],
    cfg: SamplingConfig = SPACE_SAMPLING,
    seed: int = 0,
    notify: Callable[[str], None] | None = None,
) -> dict[int, SampleSet]:
    """Samples of the shapes at `indices` (a rank's shard), each seeded by seed + its index so a shape's
    samples do not depend on how the collection is sharded. Returns {index: SampleSet}."""
    out, hits = {}, 0
    for i in indices:
        out[i], hit = cached_shape_samples(shapes[i], norms[i], cfg, seed + i)
        hits += hit
    if notify is not None and indices:
        notify(f"samples: {hits} of {len(indices)} shape(s) from the cache in {cache_folder()}")
    return out


def cache_folder() -> Path:
    """Where space samples are cached."""
    return cache.cache_dir() / "space"
