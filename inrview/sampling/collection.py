"""Training samples for every shape of a collection, drawn once into an on-disk cache.

Meshes get the same samples a single-shape fit gets (mesh_samples: exact distances from Open3D's
raycasting scene, signs by parity or winding number). Point clouds get the distance to the nearest cloud
point, signed by that point's normal (normals estimated and oriented with Open3D when the file has none).

The cache lives in the sample cache folder (cache.cache_dir()/space) and survives restarts. An entry is
keyed by the hash of the member file's bytes (and how it was read and moved, where not the default: mask
options, an alignment transform), the normalisation applied to it, the sampling settings, the seed and this
module's format version; the unit-space geometry is not hashed (a 1M-vertex mesh hashes in milliseconds
from its file, not from its arrays), so a shape's entry is found without reading its mesh. Damaged entries
are reported and computed again, and the shapes missing from it are drawn by a pool of processes (both
cores of a 2-core machine), each reading its meshes itself, one at a time: the process that trains never
holds a mesh.
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
from ..io.members import Shapes, file_digest
from . import SampleSet, cache, mesh_samples, split_counts, store

FORMAT = 2  # 2: entries carry a checksum (store.py)


def key_of(what: dict | None, norm: Normalization, cfg: SamplingConfig, seed: int) -> str | None:
    """The cache key of one member's samples from what they are read from (Member.key(): the file's hash,
    and how it was read and moved where not the default), or None when there is no file to hash."""
    if not what or not what.get("file"):
        return None
    meta = {"format": FORMAT, **what, "norm": norm.to_dict(), "sampling": cfg.to_dict(), "seed": int(seed)}
    return hashlib.blake2b(json.dumps(meta, sort_keys=True).encode(), digest_size=20).hexdigest()


def shape_key(source: str, norm: Normalization, cfg: SamplingConfig, seed: int) -> str | None:
    """The cache key of the samples of a geometry read from source with the default options, or None when
    its file cannot be hashed."""
    return key_of({"file": file_digest(source) if source else ""}, norm, cfg, seed)


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
    sigma_near, sigma_far = cfg.sigmas
    near = base[n_surf : n_surf + n_near] + rng.normal(0, sigma_near, (n_near, 3))
    far = base[n_surf + n_near :] + rng.normal(0, sigma_far, (n_far, 3))
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


def _given(g: Geometry) -> Geometry:
    return g


def _source(shapes, i: int) -> tuple[Callable[[], Geometry], dict | None]:
    """How to read shape i (a picklable call) and what its samples' key is made of."""
    if isinstance(shapes, Shapes):
        return shapes.reader(i), shapes.members[i].key()
    g = shapes[i]
    return functools.partial(_given, g), {"file": file_digest(g.source) if g.source else ""}


def _draw(read: Callable[[], Geometry], cfg: SamplingConfig, seed: int) -> SampleSet:
    return shape_samples(read(), cfg, seed)


def _fetch(job) -> SampleSet:
    """One shape's samples from the cache, else drawn (its mesh read only then) and stored there."""
    read, what, norm, cfg, seed = job
    key = key_of(what, norm, cfg, seed) if cache.enabled() else None
    if key is None:
        return _draw(read, cfg, seed)
    return cache.fetch(cache_folder() / f"{key}.npz", functools.partial(_draw, read, cfg, seed))[0]


def _draw_one(job) -> SampleSet | None:
    """Pool task: _fetch; the samples are returned only when they could not be stored in the cache (cache
    off, a shape without a file, a folder that cannot be written), else the parent reads them back."""
    samples = _fetch(job)
    key = key_of(*job[1:]) if cache.enabled() else None
    return None if key is not None and (cache_folder() / f"{key}.npz").exists() else samples


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
    out, missing, jobs = {}, [], {}
    for i in indices:
        read, what = _source(shapes, i)
        key = key_of(what, norms[i], cfg, seed + i) if cache.enabled() else None
        hit = cache.load(cache_folder() / f"{key}.npz") if key else None
        if hit is not None:
            out[i] = hit
        else:
            missing.append(i)
            jobs[i] = (read, what, norms[i], cfg, seed + i)
    workers = min(workers or sampling_workers(), len(missing))
    t0 = time.perf_counter()
    if workers > 1:
        ctx = multiprocessing.get_context("spawn")
        todo = [jobs[i] for i in missing]
        with ProcessPoolExecutor(workers, ctx, initializer=_follow_parent, initargs=(os.getpid(),)) as pool:
            drawn = list(pool.map(_draw_one, todo, chunksize=max(1, len(todo) // (8 * workers))))
        for i, samples in zip(missing, drawn):
            out[i] = samples if samples is not None else _fetch(jobs[i])
    else:
        for i in missing:
            out[i] = _fetch(jobs[i])
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


class MemberFacts:
    """What scanning a member file found (kind, bounding box), kept beside the samples (cache_folder()/
    members) in checksummed entries written atomically (store.py), so that loading a collection seen
    before reads no mesh. A damaged entry counts as missing: the file is read again."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder or cache_folder() / "members"

    def get(self, key: str) -> dict | None:
        arrays, _ = store.read_entry(self.folder / f"{key}.npz")
        if arrays is None or set(arrays) != {"kind", "lo", "hi"} or str(arrays["kind"]) not in ("mesh", "points"):
            return None
        lo, hi = arrays["lo"], arrays["hi"]
        if lo.shape != (3,) or hi.shape != (3,) or not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            return None
        return {"kind": str(arrays["kind"]), "lo": lo, "hi": hi}

    def put(self, key: str, facts: dict) -> None:
        arrays = {"kind": np.array(facts["kind"]), "lo": np.asarray(facts["lo"], np.float64)}
        arrays["hi"] = np.asarray(facts["hi"], np.float64)
        try:
            store.write_entry(self.folder / f"{key}.npz", arrays)
        except OSError:
            pass  # a folder that cannot be written costs a scan next time, never the load


def member_facts() -> MemberFacts | None:
    """The facts store load_collection should use: None when the cache is off."""
    return MemberFacts() if cache.enabled() else None
