"""A per-user cache of training samples, so that fitting the same shape again skips sample generation.

The key is a hash of what the samples are computed from: the normalised vertices and faces (the content of
the file as loaded; a different margin or a loader fix gives other samples and so another key), the
sampling configuration, the seed and this module's format version. Entries are uncompressed .npz files
with a checksum, written atomically and filled under a per-entry lock (see store.py); a missing entry is
computed, a damaged one is reported in one line and computed again, and a cache folder that cannot be
written never fails a fit. The folder keeps at most `max_bytes`, dropping the entries used
longest ago.

Environment: INRVIEW_CACHE_DIR overrides the folder; INRVIEW_NO_CACHE=1 turns the cache off.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from ..config import SamplingConfig
from . import store

FORMAT = 3  # 2: open meshes signed by |winding number|, single sheets as thin shells; 3: entries carry a checksum
MAX_BYTES = 2 * 1024**3
_FIELDS = ("points", "sdf", "surface_points", "surface_normals")


def cache_dir() -> Path:
    """The sample cache folder: $INRVIEW_CACHE_DIR, else the platform's per-user cache folder."""
    env = os.environ.get("INRVIEW_CACHE_DIR")
    if env:
        return Path(env)
    home = Path.home()
    if sys.platform == "darwin":
        base = home / "Library" / "Caches"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", home / ".cache"))
    return base / "inrview" / "samples"


def enabled() -> bool:
    """Whether the sample cache is on (INRVIEW_NO_CACHE unset, empty, 0, false or no)."""
    return os.environ.get("INRVIEW_NO_CACHE", "").strip().lower() in ("", "0", "false", "no")


def sample_key(vertices: np.ndarray, faces: np.ndarray, cfg: SamplingConfig, seed: int) -> str:
    """Hex digest naming the samples of this geometry under this configuration and seed."""
    h = hashlib.blake2b(digest_size=20)
    v = np.ascontiguousarray(vertices, dtype=np.float64)
    f = np.ascontiguousarray(faces, dtype=np.int64)
    h.update(
        json.dumps(
            {"format": FORMAT, "sampling": cfg.to_dict(), "seed": int(seed), "shapes": [list(v.shape), list(f.shape)]},
            sort_keys=True,
        ).encode()
    )
    h.update(v.tobytes())
    h.update(f.tobytes())
    return h.hexdigest()


def load(path: Path):
    """The SampleSet stored at path, or None when it is missing, damaged (see store.read_entry) or unusable."""
    arrays, _ = store.read_entry(path)
    return samples_of(arrays, path)


def samples_of(arrays: dict | None, path: Path | None = None):
    """The SampleSet of an entry's arrays, or None when they are not whole training samples."""
    from . import SampleSet

    if arrays is None:
        return None
    pts, sdf = arrays.get("points"), arrays.get("sdf")
    if (
        pts is None
        or sdf is None
        or pts.ndim != 2
        or pts.shape[1:] != (3,)
        or sdf.shape != pts.shape[:1]
        or pts.dtype != np.float32
        or sdf.dtype != np.float32
        or not np.isfinite(pts).all()
    ):
        return None
    if path is not None:
        try:
            os.utime(path)  # most recently used: pruning keeps it
        except OSError:
            pass
    return SampleSet(pts, sdf, arrays.get("surface_points"), arrays.get("surface_normals"))


def save(path: Path, samples, max_bytes: int = MAX_BYTES) -> bool:
    """Store samples at path (atomically, with a checksum); returns False when the folder cannot be written."""
    arrays = {k: getattr(samples, k) for k in _FIELDS if getattr(samples, k) is not None}
    try:
        store.write_entry(path, arrays)
        prune(path.parent, max_bytes)
        return True
    except OSError:
        return False


def fetch(path: Path, draw):
    """(samples, hit): the entry at path, else draw() stored there; one process draws a missing entry
    while others wanting it wait for it (store.fetch), and a damaged entry is reported and drawn again."""
    return store.fetch(path, draw, lambda a: samples_of(a, path), save)


def prune(folder: Path, max_bytes: int = MAX_BYTES) -> None:
    """Delete the least recently used entries until the folder holds at most max_bytes."""
    try:
        entries = [(p.stat().st_mtime, p.stat().st_size, p) for p in folder.glob("*.npz")]
    except OSError:
        return
    total = sum(s for _, s, _ in entries)
    for _, size, p in sorted(entries):
        if total <= max_bytes:
            break
        try:
            p.unlink()
            total -= size
        except OSError:
            pass


def cached_mesh_samples(vertices: np.ndarray, faces: np.ndarray, cfg: SamplingConfig = SamplingConfig(), seed: int = 0):
    """mesh_samples(vertices, faces, cfg, seed) -> SampleSet, served from the disk cache when it holds them
    (and it is enabled())."""
    from . import mesh_samples

    key = sample_key(vertices, faces, cfg, seed)
    draw = functools.partial(mesh_samples, vertices, faces, cfg, seed=seed)
    samples = fetch(cache_dir() / f"{key}.npz", draw)[0] if enabled() else draw()
    return samples
