"""Closing small holes of an oriented triangle mesh: boundary loops of a few edges are fanned from their centroid.

An open-surface extraction leaves slits a cell or two wide where neighbouring cells judged a vertex lying on
the surface to be on different sides of it; the surface's own boundaries are loops of many edges. Each new
face runs along one boundary edge in the opposite direction to the face it borders, so orientation is kept
and every edge of a filled loop ends up with exactly two faces.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree

from .crossings import crossing_pairs


def boundary_edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(src, dst): the edges that one face only has, a -> b in that face's direction."""
    f = np.asarray(faces, np.int64)
    a = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    b = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    n = int(f.max()) + 1 if len(f) else 0
    once = _edge_counts(np.minimum(a, b) * n + np.maximum(a, b)) == 1
    return a[once], b[once]


def _edge_counts(keys: np.ndarray) -> np.ndarray:
    """(E,) how many times each entry of keys occurs in it (torch's unique: a third of numpy's time)."""
    _, inv, counts = torch.unique(torch.from_numpy(keys), return_inverse=True, return_counts=True)
    return counts[inv].numpy()


def _boundary_next(faces: np.ndarray, edges: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(V,) the next vertex along the boundary from each vertex (b for a boundary edge a -> b in the direction
    of the one face that has it), -1 where none or where more than one boundary edge leaves the vertex.
    edges: the faces' boundary_edges when already known."""
    src, dst = boundary_edges(faces) if edges is None else edges
    n = int(np.max(faces)) + 1 if len(faces) else 0
    single = np.bincount(src, minlength=n)[src] == 1
    nxt = np.full(n + 1, -1, np.int64)  # the last entry: where a walk that has ended stays
    nxt[src[single]] = dst[single]
    return nxt


def small_loops(faces: np.ndarray, max_edges: int, edges=None) -> tuple[np.ndarray, np.ndarray]:
    """Boundary loops of at most max_edges edges, as (K, max_edges) vertices (each loop in the direction of
    its faces, padded with -1) and (K,) lengths; loops through a vertex with more than one outgoing boundary
    edge are left out. Every boundary vertex is walked max_edges steps at once; a loop is kept once, from its
    smallest vertex. edges: the faces' boundary_edges when already known."""
    nxt = _boundary_next(faces, edges)
    start = np.nonzero(nxt[:-1] >= 0)[0]
    walk = np.empty((len(start), max_edges + 1), np.int64)
    walk[:, 0] = cur = start
    for k in range(1, max_edges + 1):
        walk[:, k] = cur = nxt[cur]
    back = walk[:, 1:] == start[:, None]
    length = np.where(back.any(axis=1), back.argmax(axis=1) + 1, 0)
    inside = np.arange(max_edges)[None] < length[:, None]
    ring = np.where(inside, walk[:, :max_edges], -1)
    first = (length > 0) & (np.where(inside, ring, np.iinfo(np.int64).max).min(axis=1) == start)
    return ring[first], length[first]


def fill_small_holes(
    vertices: np.ndarray, faces: np.ndarray, max_edges: int, check: bool = True, edges=None
) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and faces with every boundary loop of at most max_edges edges fanned from a new vertex at
    its centroid, except (check) loops whose fan would cross a face (`crossing_pairs` of the fans against the
    faces near them; without check, remove_crossings should follow). edges: the faces' boundary_edges when
    already known."""
    ring, length = small_loops(faces, max_edges, edges)
    v, f = np.asarray(vertices, np.float64), np.asarray(faces, np.int64)
    if not len(ring):
        return v, f
    inside = ring >= 0
    new_v = (v[np.maximum(ring, 0)] * inside[..., None]).sum(axis=1) / length[:, None]
    after = np.take_along_axis(ring, (np.arange(max_edges)[None] + 1) % length[:, None], axis=1)
    centre = np.broadcast_to(len(v) + np.arange(len(ring))[:, None], ring.shape)
    # boundary edge a -> b borders a face running a -> b: the new face runs b -> a
    fan = np.stack([after, ring, centre], axis=-1)[inside]
    owner = np.broadcast_to(np.arange(len(ring))[:, None], ring.shape)[inside]
    keep = np.ones(len(fan), bool)
    if check:
        focus = np.arange(len(f) + len(fan)) >= len(f)
        pairs = crossing_pairs(np.vstack([v, new_v]), np.vstack([f, fan]), focus)
        bad = np.zeros(len(ring), bool)
        bad[owner[pairs[pairs >= len(f)] - len(f)]] = True
        keep = ~bad[owner]
    return np.vstack([v, new_v]), np.vstack([f, fan[keep]])


def remove_crossings(
    vertices: np.ndarray, faces: np.ndarray, max_edges: int, rounds: int = 3, suspects: np.ndarray | None = None
):
    """Vertices and faces without pairs of triangles that cross each other: both triangles of each crossing
    pair are removed and the small holes they leave are closed again where a fan crosses nothing (up to
    `rounds` times; what still crosses after that is removed and left open).

    suspects: (V,) bool, the vertices where crossings can start: every other face is known to cross nothing
    that does not touch one of them (fans made here are checked as they are made, and vertices past the end
    of suspects are not suspects). Only faces near a face with a suspect vertex are then tested
    (crossings.near_faces). None: every face."""
    v, f = vertices, np.asarray(faces, np.int64)
    for r in range(rounds + 1):
        focus = None
        if suspects is not None:
            flag = np.concatenate([suspects, np.zeros(max(0, len(v) - len(suspects)), bool)])
            focus = flag[f].any(axis=1)
        pairs = crossing_pairs(v, f, focus)
        if len(pairs) == 0:
            break
        keep = np.ones(len(f), bool)
        keep[pairs.reshape(-1)] = False
        f = f[keep]
        if r < rounds:
            v, f = fill_small_holes(v, f, max_edges)
    return v, f


def drop_non_manifold(faces: np.ndarray, suspects: np.ndarray | None = None) -> np.ndarray:
    """Faces without those on an edge that three or more faces share (crossings put on one grid vertex can
    fold two cells' triangles onto one edge). suspects: (V,) bool, the vertices such edges can only run from
    (every face on such an edge then has one): only the faces at them are counted. None: every face."""
    f = np.asarray(faces, np.int64)
    if len(f) == 0:
        return f
    at = np.ones(len(f), bool) if suspects is None else suspects[f].any(axis=1)
    g = f[at]
    n = int(f.max()) + 1
    a = np.concatenate([g[:, 0], g[:, 1], g[:, 2]])
    b = np.concatenate([g[:, 1], g[:, 2], g[:, 0]])
    keep = np.ones(len(f), bool)
    keep[np.nonzero(at)[0][(_edge_counts(np.minimum(a, b) * n + np.maximum(a, b)) > 2).reshape(3, -1).any(axis=0)]] = (
        False
    )
    return f[keep]


def drop_small_pieces(
    vertices: np.ndarray, faces: np.ndarray, pieces: np.ndarray, min_area: float, gap: float, edges
) -> np.ndarray:
    """Faces without the small pieces that float: pieces (pieces: (F,) label of each face's piece) of area
    under min_area whose boundary comes no nearer than gap to the boundary of a larger piece (a piece cut off
    from the surface by a slit lies across the slit from it; flakes of a learned field's zero set lie apart).
    edges: the faces' boundary_edges."""
    if len(faces) == 0:
        return faces
    t = np.asarray(vertices, np.float64)[faces]
    area = 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)
    small = np.bincount(pieces, weights=area) < min_area
    if not small[pieces].any() or small[pieces].all():
        return faces
    piece_of = np.empty(len(vertices), np.int64)
    piece_of[faces.reshape(-1)] = np.repeat(pieces, 3)
    rim = np.unique(np.concatenate(edges))
    rim_small = small[piece_of[rim]]
    near = np.zeros(len(small), bool)
    if (~rim_small).any() and rim_small.any():
        d, _ = cKDTree(vertices[rim[~rim_small]]).query(vertices[rim[rim_small]], distance_upper_bound=gap * 1.001)
        near[piece_of[rim[rim_small][d <= gap]]] = True
    return faces[~(small & ~near)[pieces]]
