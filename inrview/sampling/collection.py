"""Training samples for every shape of a collection, drawn once into an on-disk cache.

Meshes get the same samples a single-shape fit gets (mesh_samples: exact distances from Open3D's
raycasting scene, signs by parity or winding number). Point clouds get the distance to the nearest cloud
point, signed by that point's normal (normals estimated and oriented with Open3D when the file has none).

The cache lives in the sample cache folder (cache.cache_dir()/space) and survives restarts. An entry is
keyed by the hash of the member file's bytes, the normalisation applied to it, the sampling settings, the
seed and this module's format version; the unit-space geometry is not hashed (a 1M-vertex mesh hashes in
milliseconds from its file, not from its arrays). Damaged entries are reported and computed again, and the
shapes of a new collection are drawn by a pool of processes (both cores of a 2-core machine).
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from ..config import SamplingConfig
from ..config.space import SPACE_SAMPLING
from ..io.geometry import Geometry, Normalization
from . import SampleSet, cache, mesh_samples, split_counts

FORMAT = 2  # 2: entries carry a checksum (store.py)


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
    """shape_samples from the cache when present (else computed and stored, one process drawing a shape that
    several want at once; see cache.fetch). Returns (samples, hit)."""
    key = shape_key(shape.source, norm, cfg, seed) if cache.enabled() else None
    if key is None:
        return shape_samples(shape, cfg, seed), False
    return cache.fetch(cache_folder() / f"{key}.npz", functools.partial(shape_samples, shape, cfg, seed))


def _draw_one(args) -> SampleSet | None:
    """Pool task: one shape's samples, stored in the cache; returned only when they could not be stored
    there (cache off, a shape without a file), else the parent reads them back from the cache."""
    shape, norm, cfg, seed = args
    samples, _ = cached_shape_samples(shape, norm, cfg, seed)
    stored = cache.enabled() and shape_key(shape.source, norm, cfg, seed) is not None
    return None if stored else samples


def _follow_parent(parent: int) -> None:
    """Pool initializer: end this worker as soon as the process that started it is gone (a run killed with
    SIGKILL would otherwise leave its sampling workers waiting for work, and holding its pipes, forever)."""

    def watch():
        while os.getppid() == parent:
            time.sleep(0.25)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def sampling_workers() -> int:
    """Processes for drawing a collection's samples: this process's share of the cores (under torchrun the
    ranks draw their own shards side by side)."""
    return max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def collection_samples(
    shapes: list[Geometry],
    norms: list[Normalization],
    indices: list[int],
    cfg: SamplingConfig = SPACE_SAMPLING,
    seed: int = 0,
    notify: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> dict[int, SampleSet]:
    """Samples of the shapes at `indices` (a rank's shard), each seeded by seed + its index so a shape's
    samples do not depend on how the collection is sharded. Shapes missing from the cache are drawn by a
    pool of `workers` processes (default sampling_workers()). Returns {index: SampleSet}."""
    out, missing = {}, []
    for i in indices:
        key = shape_key(shapes[i].source, norms[i], cfg, seed + i) if cache.enabled() else None
        hit = cache.load(cache_folder() / f"{key}.npz") if key else None
        if hit is not None:
            out[i] = hit
        else:
            missing.append(i)
    workers = min(workers or sampling_workers(), len(missing))
    t0 = time.perf_counter()
    if workers > 1:
        jobs = [(shapes[i], norms[i], cfg, seed + i) for i in missing]
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, ctx, initializer=_follow_parent, initargs=(os.getpid(),)) as pool:
            drawn = list(pool.map(_draw_one, jobs, chunksize=max(1, len(jobs) // (8 * workers))))
        for i, samples in zip(missing, drawn):
            out[i] = samples if samples is not None else cached_shape_samples(shapes[i], norms[i], cfg, seed + i)[0]
    else:
        for i in missing:
            out[i] = cached_shape_samples(shapes[i], norms[i], cfg, seed + i)[0]
    if notify is not None and indices:
        drew = f"; {len(missing)} drawn in {time.perf_counter() - t0:.1f} s by {max(1, workers)} process(es)"
        notify(
            f"samples: {len(indices) - len(missing)} of {len(indices)} shape(s) from the cache in {cache_folder()}"
            + (drew if missing else "")
        )
    return {i: out[i] for i in indices}


def cache_folder() -> Path:
    """Where space samples are cached."""
    return cache.cache_dir() / "space"
