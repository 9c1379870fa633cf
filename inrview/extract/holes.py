"""Closing small holes of an oriented triangle mesh: boundary loops of a few edges are fanned from their centroid.

An open-surface extraction leaves slits a cell or two wide where neighbouring cells judged a vertex lying on
the surface to be on different sides of it; the surface's own boundaries are loops of many edges. Each new
face runs along one boundary edge in the opposite direction to the face it borders, so orientation is kept
and every edge of a filled loop ends up with exactly two faces.
"""

from __future__ import annotations

import numpy as np

from .crossings import crossing_pairs


def boundary_loops(faces: np.ndarray) -> list[list[int]]:
    """Loops of directed boundary edges (a -> b in the direction of the one face that has it), each a list of
    vertices; loops through a vertex with more than one outgoing boundary edge are left out."""
    f = np.asarray(faces, np.int64)
    a = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    b = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    n = int(f.max()) + 1 if len(f) else 0
    _, inv, counts = np.unique(np.minimum(a, b) * n + np.maximum(a, b), return_inverse=True, return_counts=True)
    once = counts[inv] == 1
    src, dst = a[once], b[once]
    out_count = np.bincount(src, minlength=n)
    nxt = {int(s): int(d) for s, d in zip(src, dst) if out_count[s] == 1}
    loops, seen = [], set()
    for start in list(nxt):
        if start in seen:
            continue
        loop, cur = [start], nxt[start]
        seen.add(start)
        while cur != start and cur in nxt and cur not in seen:
            loop.append(cur)
            seen.add(cur)
            cur = nxt[cur]
        if cur == start:
            loops.append(loop)
    return loops


def fill_small_holes(vertices: np.ndarray, faces: np.ndarray, max_edges: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and faces with every boundary loop of at most max_edges edges fanned from a new vertex at
    its centroid, except loops whose fan would cross a face around it (tested against the faces that touch
    the loop, with `crossing_pairs`)."""
    loops = [lp for lp in boundary_loops(faces) if len(lp) <= max_edges]
    if not loops:
        return vertices, faces
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    new_v = np.array([v[lp].mean(axis=0) for lp in loops])
    fans, owner = [], []
    for i, lp in enumerate(loops):
        ring = np.asarray(lp)
        # boundary edge a -> b borders a face running a -> b: the new face runs b -> a
        fans.append(np.stack([np.roll(ring, -1), ring, np.full(len(ring), len(v) + i)], axis=1))
        owner.append(np.full(len(ring), i))
    fan, owner = np.vstack(fans), np.concatenate(owner)
    touched = np.zeros(len(v) + len(loops), bool)
    touched[fan.reshape(-1)] = True
    near = f[touched[f].any(axis=1)]
    pairs = crossing_pairs(np.vstack([v, new_v]), np.vstack([near, fan]))
    bad = np.zeros(len(loops), bool)
    hit = pairs[pairs >= len(near)] - len(near) if len(pairs) else np.zeros(0, np.int64)
    bad[owner[hit]] = True
    keep = ~bad[owner]
    return np.vstack([v, new_v]), np.vstack([f, fan[keep]])


def remove_crossings(vertices: np.ndarray, faces: np.ndarray, max_edges: int, rounds: int = 3):
    """Vertices and faces without pairs of triangles that cross each other: both triangles of each crossing
    pair are removed and the small holes they leave are closed again where a fan crosses nothing (up to
    `rounds` times; what still crosses after that is removed and left open)."""
    v, f = vertices, np.asarray(faces, np.int64)
    for r in range(rounds + 1):
        pairs = crossing_pairs(v, f)
        if len(pairs) == 0:
            break
        keep = np.ones(len(f), bool)
        keep[pairs.reshape(-1)] = False
        f = f[keep]
        if r < rounds:
            v, f = fill_small_holes(v, f, max_edges)
    return v, f


def drop_non_manifold(faces: np.ndarray) -> np.ndarray:
    """Faces without those on an edge that three or more faces share (crossings put on one grid vertex can
    fold two cells' triangles onto one edge)."""
    f = np.asarray(faces, np.int64)
    if len(f) == 0:
        return f
    n = int(f.max()) + 1
    a = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    b = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    _, inv, counts = np.unique(np.minimum(a, b) * n + np.maximum(a, b), return_inverse=True, return_counts=True)
    return f[~(counts[inv] > 2).reshape(3, -1).any(axis=0)]
