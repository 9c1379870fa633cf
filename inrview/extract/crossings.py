"""Pairs of triangles of a mesh that cross each other, found among near triangles only, and their removal.

Candidate pairs are the triangles that share a cell of a uniform hash grid (cells as large as all but the
largest triangles' bounding boxes, so that each triangle lands in at most eight cells); pairs whose bounding
boxes overlap and that share no vertex are then tested exactly: two triangles that are not coplanar cross
when an edge of one passes through the interior of the other, and coplanar ones when two of their edges
cross or a corner of one lies inside the other. Linear in the number of triangles for a mesh whose triangles
are of similar size (an extracted mesh, a reconstruction), where an all-pairs test of the bounding boxes is
quadratic.
"""

from __future__ import annotations

import numpy as np

#: Relative tolerance (of the squared size of the triangles) under which a corner counts as in a plane.
PLANE_TOL = 1e-9
#: Pairs are tested in chunks of this many (memory).
CHUNK = 200_000


def _candidate_pairs(tri: np.ndarray) -> np.ndarray:
    """(P, 2) pairs i < j of triangles (F, 3, 3) sharing a cell of the hash grid and with overlapping boxes."""
    lo, hi = tri.min(axis=1), tri.max(axis=1)
    ext = (hi - lo).max(axis=1)
    cell = max(float(np.quantile(ext, 0.99)), 1e-12) if len(ext) else 1.0
    a, b = np.floor(lo / cell).astype(np.int64), np.floor(hi / cell).astype(np.int64)
    span = b - a + 1
    count = span.prod(axis=1)
    owner = np.repeat(np.arange(len(tri)), count)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    sy, sz = span[owner, 1], span[owner, 2]
    ix = a[owner, 0] + k // (sy * sz)
    iy = a[owner, 1] + (k // sz) % sy
    iz = a[owner, 2] + k % sz
    key = (ix * 2_000_003 + iy) * 2_000_029 + iz
    order = np.argsort(key, kind="stable")
    key, owner = key[order], owner[order]
    start = np.concatenate([[True], key[1:] != key[:-1]])

    ends = np.append(np.nonzero(start)[0][1:], len(key))
    left = ends[np.cumsum(start) - 1] - np.arange(len(key)) - 1  # entries after each in its cell

    pairs, active, step = [], np.nonzero(left > 0)[0], 1
    while len(active):
        i, j = owner[active], owner[active + step]
        pairs.append(np.minimum(i, j) * len(tri) + np.maximum(i, j))
        step += 1
        active = active[left[active] >= step]
    if not pairs:
        return np.zeros((0, 2), np.int64)
    code = np.sort(np.concatenate(pairs))
    code = code[np.concatenate([[True], code[1:] != code[:-1]])]
    p = np.stack([code // len(tri), code % len(tri)], axis=1)
    p = p[p[:, 0] != p[:, 1]]
    overlap = np.all((lo[p[:, 0]] <= hi[p[:, 1]]) & (lo[p[:, 1]] <= hi[p[:, 0]]), axis=1)
    return p[overlap]


def _orient(a, b, c, d):
    """Six times the signed volume of the tetrahedra (a, b, c, d), row by row."""
    return np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a)


def _edges_through(t: np.ndarray, s: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """(P,) True where an edge of triangles s passes strictly through the interior of triangles t (P, 3, 3)."""
    hit = np.zeros(len(t), bool)
    ta, tb, tc = t[:, 0], t[:, 1], t[:, 2]
    for i in range(3):
        p, q = s[:, i], s[:, (i + 1) % 3]
        dp, dq = _orient(ta, tb, tc, p), _orient(ta, tb, tc, q)
        apart = ((dp > tol) & (dq < -tol)) | ((dp < -tol) & (dq > tol))
        o1, o2, o3 = _orient(p, q, ta, tb), _orient(p, q, tb, tc), _orient(p, q, tc, ta)
        inside = ((o1 > 0) & (o2 > 0) & (o3 > 0)) | ((o1 < 0) & (o2 < 0) & (o3 < 0))
        hit |= apart & inside
    return hit


def _coplanar_overlap(t: np.ndarray, s: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """(P,) True where coplanar triangles t and s (P, 3, 3) overlap in more than a point or an edge."""
    axis = np.abs(normal).argmax(axis=1)
    keep = np.array([[1, 2], [0, 2], [0, 1]])[axis]
    idx = np.repeat(keep[:, None, :], 3, axis=1)
    t2, s2 = np.take_along_axis(t, idx, axis=2), np.take_along_axis(s, idx, axis=2)

    def cross2(o, a, b):
        return (a[:, 0] - o[:, 0]) * (b[:, 1] - o[:, 1]) - (a[:, 1] - o[:, 1]) * (b[:, 0] - o[:, 0])

    def inside(tri, p):
        c1, c2, c3 = cross2(tri[:, 0], tri[:, 1], p), cross2(tri[:, 1], tri[:, 2], p), cross2(tri[:, 2], tri[:, 0], p)
        return ((c1 > 0) & (c2 > 0) & (c3 > 0)) | ((c1 < 0) & (c2 < 0) & (c3 < 0))

    hit = np.zeros(len(t), bool)
    for i in range(3):
        hit |= inside(t2, s2[:, i]) | inside(s2, t2[:, i])
        p, q = t2[:, i], t2[:, (i + 1) % 3]
        for j in range(3):
            r, w = s2[:, j], s2[:, (j + 1) % 3]
            d1, d2 = cross2(p, q, r), cross2(p, q, w)
            d3, d4 = cross2(r, w, p), cross2(r, w, q)
            hit |= (d1 * d2 < 0) & (d3 * d4 < 0)
    return hit


def crossing_pairs(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(P, 2) indices of the pairs of triangles that cross each other and share no vertex."""
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    if len(f) < 2:
        return np.zeros((0, 2), np.int64)
    cand = _candidate_pairs(v[f])
    shared = (f[cand[:, 0], :, None] == f[cand[:, 1], None, :]).any(axis=(1, 2))
    cand = cand[~shared]
    out = []
    for s in range(0, len(cand), CHUNK):
        c = cand[s : s + CHUNK]
        ta, tb = v[f[c[:, 0]]], v[f[c[:, 1]]]
        na = np.cross(ta[:, 1] - ta[:, 0], ta[:, 2] - ta[:, 0])
        nb = np.cross(tb[:, 1] - tb[:, 0], tb[:, 2] - tb[:, 0])
        size = np.maximum(
            np.abs(ta - ta.mean(1, keepdims=True)).max((1, 2)), np.abs(tb - tb.mean(1, keepdims=True)).max((1, 2))
        )
        tol = PLANE_TOL * size**3
        da = np.einsum("ij,ikj->ik", na, tb - ta[:, :1])  # b's corners against a's plane
        db = np.einsum("ij,ikj->ik", nb, ta - tb[:, :1])
        # a triangle wholly on one side of the other's plane cannot cross it (most candidate pairs)
        apart = (
            (da > tol[:, None]).all(1)
            | (da < -tol[:, None]).all(1)
            | (db > tol[:, None]).all(1)
            | (db < -tol[:, None]).all(1)
        )
        c, ta, tb, na, tol, da = c[~apart], ta[~apart], tb[~apart], na[~apart], tol[~apart], da[~apart]
        flat = np.all(np.abs(da) <= tol[:, None], axis=1)
        hit = np.zeros(len(c), bool)
        hit[~flat] = _edges_through(ta[~flat], tb[~flat], tol[~flat]) | _edges_through(tb[~flat], ta[~flat], tol[~flat])
        hit[flat] = _coplanar_overlap(ta[flat], tb[flat], na[flat])
        out.append(c[hit])
    return np.vstack(out) if out else np.zeros((0, 2), np.int64)
