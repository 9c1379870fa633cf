"""The per-user sample cache: hits give the same samples without recomputing, keys follow the inputs,
bad entries and unwritable folders never fail a fit."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from inrview.config import SamplingConfig
from inrview.sampling import cache


@pytest.fixture
def sphere():
    s = trimesh.creation.icosphere(subdivisions=3, radius=0.5)
    return np.asarray(s.vertices, np.float64), np.asarray(s.faces, np.int64)


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("INRVIEW_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.delenv("INRVIEW_NO_CACHE", raising=False)
    return tmp_path / "c"


CFG = SamplingConfig(n_samples=4000)


def count_calls(monkeypatch):
    from inrview import sampling

    calls = []
    real = sampling.mesh_samples

    def spy(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(sampling, "mesh_samples", spy)
    return calls


def test_hit_returns_identical_samples_without_recomputing(sphere, cache_home, monkeypatch):
    calls = count_calls(monkeypatch)
    a = cache.cached_mesh_samples(*sphere, CFG, seed=3)
    b = cache.cached_mesh_samples(*sphere, CFG, seed=3)
    assert len(calls) == 1 and len(list(cache_home.glob("*.npz"))) == 1
    for k in ("points", "sdf", "surface_points", "surface_normals"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    assert b.points.dtype == np.float32 and len(b) == 4000


def test_key_follows_geometry_config_and_seed(sphere):
    v, f = sphere
    k = cache.sample_key(v, f, CFG, 0)
    assert k == cache.sample_key(v.copy(), f.copy(), CFG, 0)
    assert k != cache.sample_key(v, f, CFG, 1)
    assert k != cache.sample_key(v, f, SamplingConfig(n_samples=4001), 0)
    assert k != cache.sample_key(v * 1.001, f, CFG, 0)
    assert k != cache.sample_key(v, f[:, ::-1], CFG, 0)


def test_corrupt_entry_is_recomputed(sphere, cache_home, monkeypatch):
    calls = count_calls(monkeypatch)
    a = cache.cached_mesh_samples(*sphere, CFG)
    (entry,) = cache_home.glob("*.npz")
    entry.write_bytes(entry.read_bytes()[:200])  # truncated
    b = cache.cached_mesh_samples(*sphere, CFG)
    assert len(calls) == 2
    np.testing.assert_array_equal(a.sdf, b.sdf)
    assert cache.load(entry) is not None  # rewritten whole


def test_disabled_and_unwritable_folders_still_fit(sphere, tmp_path, monkeypatch):
    calls = count_calls(monkeypatch)
    monkeypatch.setenv("INRVIEW_NO_CACHE", "1")
    monkeypatch.setenv("INRVIEW_CACHE_DIR", str(tmp_path / "off"))
    cache.cached_mesh_samples(*sphere, CFG)
    assert not (tmp_path / "off").exists()
    monkeypatch.delenv("INRVIEW_NO_CACHE")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("INRVIEW_CACHE_DIR", str(blocker / "sub"))
    s = cache.cached_mesh_samples(*sphere, CFG)
    assert len(s) == 4000 and len(calls) == 2


def test_prune_drops_least_recently_used(tmp_path):
    import os

    for i in range(4):
        p = tmp_path / f"{i}.npz"
        p.write_bytes(b"x" * 1000)
        os.utime(p, (1000 + i, 1000 + i))
    cache.prune(tmp_path, max_bytes=2500)
    assert sorted(p.name for p in tmp_path.glob("*.npz")) == ["2.npz", "3.npz"]


def test_session_uses_the_cache(demo_shape, cache_home):
    from inrview.config import FitConfig, TrainConfig
    from inrview.shape import ShapeSession

    cfg = FitConfig(sampling=SamplingConfig(n_samples=20000), train=TrainConfig(steps=1))
    first = ShapeSession.from_file(demo_shape, cfg)
    second = ShapeSession.from_file(demo_shape, cfg)
    assert len(list(cache_home.glob("*.npz"))) == 1
    np.testing.assert_array_equal(first.samples.points, second.samples.points)
    assert second.sampling_seconds < first.sampling_seconds
