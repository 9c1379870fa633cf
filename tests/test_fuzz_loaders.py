"""Property-based fuzzing of the loaders (hypothesis): whatever the bytes, `inrview.load` returns sane
geometry or raises LoadError, nothing else.

Inputs: valid files of every format mutated (truncated, overwritten, spliced, duplicated), random bytes
under every extension, PLY headers built from random element counts and types over random bodies, text
rows of random tokens, and the reservoir that subsamples big clouds. Derandomised, so CI sees the same
examples on every run; INRVIEW_FUZZ_SCALE=20 runs 20 times as many, freshly random (a deeper local hunt).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import corpus
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inrview.errors import LoadError
from inrview.io.chunks import Reservoir
from inrview.io.loaders import load

SCALE = int(os.environ.get("INRVIEW_FUZZ_SCALE", "1"))
FUZZ = settings(
    max_examples=60 * SCALE,
    deadline=None,
    derandomize=SCALE == 1,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

V, F = corpus.icosphere(1)
P, PN = corpus.sphere_cloud(120)
SEEDS = {
    "ply": corpus.ply_bytes(V, F),
    "ply_ascii.ply": corpus.ply_bytes(V, F, binary=False),
    "obj": corpus.obj_bytes(V, F),
    "stl": corpus.stl_binary(V, F),
    "stl_ascii.stl": corpus.stl_ascii(V, F),
    "off": corpus.off_bytes(V, F),
    "glb": corpus.glb_bytes(V, F),
    "xyz": corpus.xyz_bytes(P, PN),
    "csv": corpus.xyz_bytes(P, None, ",", "x,y,z\n"),
    "pcd": corpus.pcd_bytes(P, PN, "binary"),
    "pcd_ascii.pcd": corpus.pcd_bytes(P, PN),
    "pcd_lzf.pcd": corpus.pcd_bytes(P, None, "binary_compressed"),
    "npy": corpus.npy_bytes(P),
    "npz": corpus.npz_bytes(points=P, normals=PN),
}
EXTS = ("ply", "obj", "stl", "off", "glb", "gltf", "xyz", "xyzn", "pts", "txt", "csv", "pcd", "npy", "npz")

_dir = tempfile.TemporaryDirectory(prefix="inrview_fuzz_")
_counter = [0]


def _file(data: bytes, ext: str) -> Path:
    _counter[0] += 1
    p = Path(_dir.name) / f"f{_counter[0]}.{ext}"
    p.write_bytes(data)
    return p


def check(data: bytes, ext: str) -> None:
    """The property: LoadError or sane geometry (and no numeric warning on the way: overflow or NaN in
    the checks would mean a check that does not check)."""
    p = _file(data, ext)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            g = load(p, max_points=5000)
    except LoadError as e:
        assert str(p) in str(e) and "\n" not in str(e)
        return
    finally:
        p.unlink()
    v = g.vertices
    assert v.dtype == np.float64 and v.ndim == 2 and v.shape[1] == 3 and len(v) >= 3
    assert np.isfinite(v).all()
    assert len(v) <= max(5000, len(v) if g.faces is not None else 5000)
    if g.faces is not None:
        assert g.faces.dtype == np.int64 and g.faces.shape[1] == 3 and len(g.faces) > 0
        assert g.faces.min() >= 0 and g.faces.max() < len(v)
    if g.normals is not None:
        assert g.normals.shape == v.shape and np.isfinite(g.normals).all()


def _ext(name: str) -> str:
    return name.rsplit(".", 1)[-1]


mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("overwrite"), st.floats(0, 1), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 200)),
    st.tuples(st.just("duplicate"), st.floats(0, 1), st.integers(1, 400)),
    st.tuples(st.just("digits"), st.floats(0, 1), st.sampled_from([b"9", b"-", b"e9", b"nan", b"99999999999", b"0"])),
)


def mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for op in ops:
        at = int(op[1] * len(b)) if b else 0
        if op[0] == "truncate":
            del b[at:]
        elif op[0] in ("overwrite", "digits"):
            b[at : at + len(op[2])] = op[2]
        elif op[0] == "insert":
            b[at:at] = op[2]
        elif op[0] == "delete":
            del b[at : at + op[2]]
        elif op[0] == "duplicate":
            b[at:at] = b[at : at + op[2]]
    return bytes(b)


@pytest.mark.parametrize("name", sorted(SEEDS))
@FUZZ
@given(ops=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_valid_files(name, ops):
    check(mutate(SEEDS[name], ops), _ext(name))


@settings(FUZZ, max_examples=150 * SCALE)
@given(data=st.binary(max_size=3000), ext=st.sampled_from(EXTS))
def test_random_bytes(data, ext):
    check(data, ext)


@settings(FUZZ, max_examples=40 * SCALE)
@given(data=st.binary(max_size=400), name=st.sampled_from(sorted(SEEDS)))
def test_valid_header_random_body(data, name):
    """A real header followed by garbage: the counts must be checked against what follows."""
    seed = SEEDS[name]
    cut = {
        "ply": seed.find(b"end_header\n") + 11,
        "pcd": seed.find(b"DATA") + 20,
        "npy": 128,
        "glb": 20,
        "stl": 84,
        "off": 12,
    }.get(_ext(name), 30)
    check(seed[: max(cut, 0)] + data, _ext(name))


ply_type = st.sampled_from(
    ["char", "uchar", "short", "ushort", "int", "uint", "float", "double", "int8", "float32", "bogus"]
)


@st.composite
def ply_files(draw):
    fmt = draw(st.sampled_from(["ascii", "binary_little_endian", "binary_big_endian"]))
    nv = draw(st.one_of(st.integers(0, 40), st.sampled_from([2**31 - 1, 2**32, 10**15, -1])))
    nf = draw(st.one_of(st.integers(0, 40), st.sampled_from([2**31, 10**12])))
    vprops = draw(st.lists(st.sampled_from(["x", "y", "z", "nx", "ny", "nz", "red", "x"]), max_size=8))
    h = f"ply\nformat {fmt} 1.0\nelement vertex {nv}\n"
    h += "".join(f"property {draw(ply_type)} {p}\n" for p in vprops)
    if draw(st.booleans()):
        h += f"element face {nf}\nproperty list {draw(ply_type)} {draw(ply_type)} vertex_indices\n"
    h += "end_header\n"
    if fmt == "ascii":
        tok = st.sampled_from(["0", "1", "3", "-1", "2.5", "nan", "inf", "1e308", "x", "4", "255"])
        body = "\n".join(" ".join(draw(st.lists(tok, max_size=7))) for _ in range(draw(st.integers(0, 60))))
        return h.encode() + body.encode()
    return h.encode() + draw(st.binary(max_size=1500))


@settings(FUZZ, max_examples=200 * SCALE)
@given(data=ply_files())
def test_generated_ply_headers(data):
    check(data, "ply")


@settings(FUZZ, max_examples=100 * SCALE)
@given(
    rows=st.lists(
        st.lists(
            st.sampled_from(["0", "1.5", "-2", "1e5", "nan", "inf", "-inf", "x", "", "1,2", ";", "#"]), max_size=7
        ),
        max_size=80,
    ),
    ext=st.sampled_from(["xyz", "csv", "pts", "txt", "xyzn"]),
)
def test_text_rows(rows, ext):
    check("\n".join((" " if ext != "csv" else ",").join(r) for r in rows).encode(), ext)


@settings(FUZZ, max_examples=100 * SCALE)
@given(
    n=st.integers(0, 3000),
    limit=st.one_of(st.none(), st.integers(1, 500)),
    chunk=st.integers(1, 700),
    known=st.booleans(),
    seed=st.integers(0, 5),
)
def test_reservoir_keeps_a_subset_in_order(n, limit, chunk, known, seed):
    res = Reservoir(limit, seed, total=n if known else None)
    rows = np.arange(n, dtype=np.float64)[:, None] * np.ones((1, 3))
    for s in range(0, n, chunk):
        res.add(rows[s : s + chunk])
    out = res.result(3)[:, 0]
    assert len(out) == (n if limit is None else min(n, limit))
    assert np.all(np.diff(out) > 0)  # unique and in file order
    assert res.seen == n and res.subsampled == (limit is not None and n > limit)


def test_reservoir_is_uniform():
    """Each of 1000 rows should be kept about limit/n of the time over many seeds (both modes)."""
    for known in (False, True):
        counts = np.zeros(1000)
        for seed in range(400):
            res = Reservoir(100, seed, total=1000 if known else None)
            for s in range(0, 1000, 128):
                res.add(np.arange(s, min(s + 128, 1000))[:, None])
            counts[res.result(1)[:, 0].astype(int)] += 1
        # expected 40 per row; binomial sd ~ 6: the extremes of 1000 rows stay within ~4 sd
        assert abs(counts.mean() - 40) < 1e-9
        assert counts.min() > 40 - 27 and counts.max() < 40 + 27, (known, counts.min(), counts.max())
        # the first and last chunks are not favoured
        assert abs(counts[:128].mean() - counts[-128:].mean()) < 4
