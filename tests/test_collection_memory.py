"""A loaded collection holds no mesh: members are read when their samples are drawn (and not at all when the
cache holds them), and what scanning found is kept in checked cache entries."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import inrview.io.members as members
from inrview.config import SamplingConfig
from inrview.io.collection import load_collection
from inrview.io.geometry import Normalization
from inrview.io.loaders import load
from inrview.sampling.collection import MemberFacts, collection_samples, member_facts
from tests.space_shapes import RADII, write_collection

TINY = SamplingConfig(n_samples=2000)


@pytest.fixture
def reads(monkeypatch):
    """The files read by members.py (every mesh a collection reads goes through it)."""
    seen = []

    def counted(path, **kw):
        seen.append(str(path))
        return load(path, **kw)

    monkeypatch.setattr(members, "load", counted)
    return seen


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INRVIEW_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_collection_holds_no_mesh_and_warm_load_reads_none(tmp_path, cache, reads):
    paths = write_collection(tmp_path / "c", RADII)
    mesh_bytes = sum(g.vertices.nbytes + g.faces.nbytes for g in map(load, paths))
    col = load_collection(tmp_path / "c", "per-shape", facts=member_facts())
    assert len(reads) == 4  # each file read once to find its bounding box
    assert len(pickle.dumps(col)) < 0.05 * mesh_bytes  # names, paths, hashes and boxes only
    for p, n in zip(paths, col.normalizations):  # the same normalisation as from the whole mesh
        want = Normalization.fit(load(p).vertices)
        assert n.center == pytest.approx(want.center, abs=1e-12) and n.scale == pytest.approx(want.scale)
    reads.clear()
    again = load_collection(tmp_path / "c", "per-shape", facts=member_facts())
    assert reads == [] and again.record() == col.record()  # warm: no mesh read at all
    g = again.shapes[2]  # read on demand, in unit coordinates
    assert len(reads) == 1 and np.abs(g.vertices).max() == pytest.approx(0.9, rel=1e-6)


def test_samples_read_each_mesh_once_then_never(tmp_path, cache, reads):
    write_collection(tmp_path / "c", RADII[:3])
    col = load_collection(tmp_path / "c", facts=member_facts())
    reads.clear()
    first = collection_samples(col.shapes, col.normalizations, [0, 1, 2], TINY, workers=1)
    assert sorted(reads) == sorted(col.sources)  # drawn: each mesh read once, by the drawing process
    reads.clear()
    col2 = load_collection(tmp_path / "c", facts=member_facts())
    second = collection_samples(col2.shapes, col2.normalizations, [0, 1, 2], TINY, workers=1)
    assert reads == []  # load and samples from the cache: no mesh read
    for i in range(3):
        np.testing.assert_array_equal(first[i].sdf, second[i].sdf)


def test_damaged_fact_entry_is_read_again(tmp_path, cache, reads):
    write_collection(tmp_path / "c", RADII[:2])
    col = load_collection(tmp_path / "c", facts=member_facts())
    entries = sorted((cache / "space" / "members").glob("*.npz"))
    assert len(entries) == 2
    entries[0].write_bytes(entries[0].read_bytes()[:-40])  # truncated by a crash or a disk fault
    reads.clear()
    again = load_collection(tmp_path / "c", facts=MemberFacts())
    assert len(reads) == 1 and again.record() == col.record()


def test_changed_file_is_scanned_and_sampled_again(tmp_path, cache, reads):
    write_collection(tmp_path / "c", RADII[:2])
    col = load_collection(tmp_path / "c", "per-shape", facts=member_facts())
    collection_samples(col.shapes, col.normalizations, [0, 1], TINY, workers=1)
    write_collection(tmp_path / "c", [RADII[0], (0.3, 0.3, 0.3)])  # shape1 replaced by another file
    reads.clear()
    col2 = load_collection(tmp_path / "c", "per-shape", facts=member_facts())
    collection_samples(col2.shapes, col2.normalizations, [0, 1], TINY, workers=1)
    assert reads == [col.sources[1], col.sources[1]]  # its box, then its samples; shape0 not at all
