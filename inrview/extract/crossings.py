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
import torch

#: Relative tolerance (of the squared size of the triangles) under which a corner counts as in a plane.
PLANE_TOL = 1e-9
#: Pairs are tested in chunks of this many (memory).
CHUNK = 200_000


def _candidate_pairs(tri: np.ndarray, focus: np.ndarray | None = None) -> np.ndarray:
    """(P, 2) pairs i < j of triangles (F, 3, 3) sharing a cell of the hash grid and with overlapping boxes
    (with focus, (F,) bool: only the pairs with a focus triangle)."""
    lo = np.minimum(np.minimum(tri[:, 0], tri[:, 1]), tri[:, 2])
    hi = np.maximum(np.maximum(tri[:, 0], tri[:, 1]), tri[:, 2])
    ext = (hi - lo).max(axis=1)
    cell = max(float(np.quantile(ext, 0.99)), 1e-12) if len(ext) else 1.0
    owner, key = _cell_keys(tri, cell)
    order = torch.argsort(torch.from_numpy(key), stable=True).numpy()
    key, owner = key[order], owner[order]
    if focus is None:
        code = _same_cell_pairs(key, owner, len(tri))
    else:  # each focus entry against every entry of its cell
        at = np.nonzero(focus[owner])[0]
        first, last = np.searchsorted(key, key[at], "left"), np.searchsorted(key, key[at], "right")
        count = last - first
        i = np.repeat(owner[at], count)
        j = owner[np.repeat(first - np.cumsum(count) + count, count) + np.arange(count.sum())]
        code = np.minimum(i, j) * len(tri) + np.maximum(i, j)
    if not len(code):
        return np.zeros((0, 2), np.int64)
    code = torch.unique(torch.from_numpy(code)).numpy()  # a third of numpy's time
    p = np.stack([code // len(tri), code % len(tri)], axis=1)
    p = p[p[:, 0] != p[:, 1]]
    overlap = np.all((lo[p[:, 0]] <= hi[p[:, 1]]) & (lo[p[:, 1]] <= hi[p[:, 0]]), axis=1)
    return p[overlap]


def _same_cell_pairs(key: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Codes i * n + j (i <= j) of the owners of every two entries with the same (sorted) key."""
    start = np.concatenate([[True], key[1:] != key[:-1]])
    ends = np.append(np.nonzero(start)[0][1:], len(key))
    left = ends[np.cumsum(start) - 1] - np.arange(len(key)) - 1  # entries after each in its cell
    pairs, active, step = [], np.nonzero(left > 0)[0], 1
    while len(active):
        i, j = owner[active], owner[active + step]
        pairs.append(np.minimum(i, j) * n + np.maximum(i, j))
        step += 1
        active = active[left[active] >= step]
    return np.concatenate(pairs) if pairs else np.zeros(0, np.int64)


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


def _key(ix: np.ndarray, iy: np.ndarray, iz: np.ndarray) -> np.ndarray:
    return (ix * 2_000_003 + iy) * 2_000_029 + iz


def _cell_keys(tri: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """(owner, key): the hash-grid cells (size `cell`) that each triangle's (or box's, (F, 2, 3)) bounding box
    covers."""
    a = np.floor(np.min(tri, axis=1) / cell).astype(np.int64)
    b = np.floor(np.max(tri, axis=1) / cell).astype(np.int64)
    span = b - a + 1
    count = span.prod(axis=1)
    owner = np.repeat(np.arange(len(tri)), count)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    sy, sz = span[owner, 1], span[owner, 2]
    return owner, _key(a[owner, 0] + k // (sy * sz), a[owner, 1] + (k // sz) % sy, a[owner, 2] + k % sz)


def near_faces(vertices: np.ndarray, faces: np.ndarray, focus: np.ndarray) -> np.ndarray:
    """(F,) True for the faces (focus included) whose bounding box may overlap that of a face where focus (F,)
    is True: on a hash grid as large as all but the largest triangles, those whose box centre lies in a cell
    that a focus face's box, grown by half a cell, covers, and every triangle larger than a cell."""
    v, f = np.asarray(vertices, np.float64), np.asarray(faces, np.int64)
    if not focus.any():
        return focus.copy()
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    lo, hi = np.minimum(np.minimum(a, b), c), np.maximum(np.maximum(a, b), c)
    ext = (hi - lo).max(axis=1)
    cell = max(float(np.quantile(ext, 0.99)), 1e-12)
    k = np.floor((lo + hi) / (2 * cell)).astype(np.int64)
    a = np.floor((lo[focus] - cell / 2) / cell).astype(np.int64)
    b = np.floor((hi[focus] + cell / 2) / cell).astype(np.int64)
    origin = np.minimum(k.min(axis=0), a.min(axis=0))
    k, a, b = k - origin, a - origin, b - origin
    shape = np.maximum(k.max(axis=0), b.max(axis=0)) + 1
    if np.prod(shape.astype(np.float64)) > 1 << 26:  # a sparse spread of faces: hash the cells instead
        _, hot = _cell_keys(np.stack([a, b + 0.5], axis=1).astype(np.float64), 1.0)
        return np.isin(_key(k[:, 0], k[:, 1], k[:, 2]), np.unique(hot)) | (ext > cell)
    mark = np.zeros(tuple(shape), bool)  # the cells the grown focus boxes cover
    small = (b - a).max(axis=1) <= 2
    for dx, dy, dz in np.ndindex(3, 3, 3):  # boxes of up to 3 cells a side, all at once
        c = np.minimum(a[small] + [dx, dy, dz], b[small])
        mark[c[:, 0], c[:, 1], c[:, 2]] = True
    for (x0, y0, z0), (x1, y1, z1) in zip(a[~small], b[~small]):
        mark[x0 : x1 + 1, y0 : y1 + 1, z0 : z1 + 1] = True
    return mark[k[:, 0], k[:, 1], k[:, 2]] | (ext > cell)


def crossing_pairs(vertices: np.ndarray, faces: np.ndarray, focus: np.ndarray | None = None) -> np.ndarray:
    """(P, 2) indices of the pairs of triangles that cross each other and share no vertex; with focus ((F,)
    bool), only the pairs with a focus face, tested among the faces near the focus ones (see near_faces)."""
    if focus is None:
        return _all_crossing_pairs(vertices, faces)
    idx = np.nonzero(near_faces(vertices, faces, focus))[0]
    return idx[_all_crossing_pairs(vertices, np.asarray(faces, np.int64)[idx], focus[idx])]


def _all_crossing_pairs(vertices: np.ndarray, faces: np.ndarray, focus: np.ndarray | None = None) -> np.ndarray:
    """crossing_pairs over every pair of near triangles (with a focus face, where focus is given)."""
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    if len(f) < 2:
        return np.zeros((0, 2), np.int64)
    cand = _candidate_pairs(v[f], focus)
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
