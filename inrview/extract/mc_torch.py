"""Marching cubes in PyTorch, for grids that already live on a GPU.

On a CUDA machine the network's grid is evaluated on the device; handing 17M values to a CPU mesher
(scikit-image where VTK is missing: about 0.5 s at 256^3) then costs more than the network did. Here every
cell is classified at once, the active ones are looked up in a triangle table, and each vertex is made
once per crossed grid edge (so the mesh is watertight by construction and needs no welding).

The triangle table is derived when this module loads rather than typed in: for each of the 256 sign
patterns of a cell's corners, the crossed edges on each of the six faces are joined into segments (on a
face with two diagonal inside corners, each inside corner is cut off on its own, a rule that depends only
on the face's own corners, so two cells sharing a face always agree), the segments close into loops,
each loop is fanned into triangles and oriented so that its normal points towards increasing values
(judged by the trilinear interpolant of the corner signs). Vertices are interpolated linearly along edges,
as every marching cubes does, so they coincide with scikit-image's and VTK's; only the split of ambiguous
cells may differ.
"""

from __future__ import annotations

import numpy as np
import torch

from .mc import _drop_degenerate

#: Corner c of a cell sits at offset ((c >> 2) & 1, (c >> 1) & 1, c & 1) (the order of grid.CORNERS).
CORNER_OFFSETS = np.array([[(c >> 2) & 1, (c >> 1) & 1, c & 1] for c in range(8)], dtype=np.int64)
#: Edge e runs from corner EDGES[e][0] along axis EDGES[e][1] (to the corner with that bit set).
EDGES = [(c, a) for a in range(3) for c in range(8) if not (c >> (2 - a)) & 1]


def _bit(c: int, axis: int) -> int:
    return (c >> (2 - axis)) & 1


def _edge_of(c0: int, c1: int) -> int:
    lo = min(c0, c1)
    axis = [a for a in range(3) if _bit(c0, a) != _bit(c1, a)][0]
    return EDGES.index((lo, axis))


def _face_segments(inside: list[bool]) -> list[tuple[int, int]]:
    """Segments (pairs of edge numbers) of the zero level on the six faces of a cell."""
    segs = []
    for axis in range(3):
        u, v = [a for a in range(3) if a != axis]
        for side in (0, 1):
            # the face's corners in cyclic order
            ring = []
            for bu, bv in ((0, 0), (1, 0), (1, 1), (0, 1)):
                c = (side << (2 - axis)) | (bu << (2 - u)) | (bv << (2 - v))
                ring.append(c)
            crossed = [(ring[i], ring[(i + 1) % 4]) for i in range(4) if inside[ring[i]] != inside[ring[(i + 1) % 4]]]
            if len(crossed) == 2:
                segs.append((_edge_of(*crossed[0]), _edge_of(*crossed[1])))
            elif len(crossed) == 4:
                # two inside corners on a diagonal: cut each one off by itself
                for i in range(4):
                    if inside[ring[i]]:
                        segs.append((_edge_of(ring[i - 1], ring[i]), _edge_of(ring[i], ring[(i + 1) % 4])))
    return segs


def _loops(segs: list[tuple[int, int]]) -> list[list[int]]:
    nbrs: dict[int, list[int]] = {}
    for a, b in segs:
        nbrs.setdefault(a, []).append(b)
        nbrs.setdefault(b, []).append(a)
    seen, loops = set(), []
    for start in nbrs:
        if start in seen:
            continue
        loop, prev, cur = [start], None, start
        seen.add(start)
        while True:
            nxt = [n for n in nbrs[cur] if n != prev]
            nxt = nxt[0] if nxt else nbrs[cur][0]
            if nxt == start:
                break
            loop.append(nxt)
            seen.add(nxt)
            prev, cur = cur, nxt
        loops.append(loop)
    return loops


def _faces_of(e: int) -> set[tuple[int, int]]:
    """The two cell faces (axis, side) an edge lies on."""
    c, a = EDGES[e]
    return {(b, _bit(c, b)) for b in range(3) if b != a}


def _fan(loop: list[int]) -> list[tuple[int, int, int]]:
    """Triangles of a loop fanned from a vertex none of whose diagonals lies in a face of the cell (such a
    diagonal could coincide with one of the neighbouring cell's, making an edge with four triangles)."""
    n = len(loop)
    for s in range(n):
        r = loop[s:] + loop[:s]
        if all(not (_faces_of(r[0]) & _faces_of(r[i])) for i in range(2, n - 1)):
            return [(r[0], r[i], r[i + 1]) for i in range(1, n - 1)]
    raise AssertionError(f"no fan without face diagonals for loop {loop}")  # does not happen (checked at import)


def _trilinear(signs: np.ndarray, p: np.ndarray) -> float:
    w = np.prod(np.where(CORNER_OFFSETS == 1, p, 1 - p), axis=1)
    return float((w * signs).sum())


def _build_table() -> tuple[np.ndarray, np.ndarray]:
    mid = np.array([CORNER_OFFSETS[c] + 0.5 * np.eye(3)[a] for c, a in EDGES])
    cases = []
    for case in range(256):
        inside = [bool((case >> c) & 1) for c in range(8)]
        signs = np.where(inside, -1.0, 1.0)
        tris = []
        for loop in _loops(_face_segments(inside)):
            fan = _fan(loop)
            score = 0.0
            for t in fan:
                a, b, c = mid[list(t)]
                n = np.cross(b - a, c - a)
                n /= np.linalg.norm(n) or 1.0
                cen = (a + b + c) / 3
                score += _trilinear(signs, cen + 0.05 * n) - _trilinear(signs, cen - 0.05 * n)
            tris += fan if score > 0 else [(a, c, b) for a, b, c in fan]
        cases.append(tris)
    width = max(len(t) for t in cases)
    table = np.full((256, width, 3), -1, dtype=np.int64)
    for i, t in enumerate(cases):
        if t:
            table[i, : len(t)] = t
    return table, np.array([len(t) for t in cases], dtype=np.int64)


TRI_TABLE, TRI_COUNT = _build_table()
_EDGE_START = np.array([CORNER_OFFSETS[c] for c, _ in EDGES], dtype=np.int64)  # (12, 3)
_EDGE_AXIS = np.array([a for _, a in EDGES], dtype=np.int64)  # (12,)


def marching_cubes_torch(
    values: torch.Tensor, lo: float, spacing: float, level: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Level set of an (n0, n1, n2) grid tensor (any device) with vertex [i, j, k] at lo + spacing * (i, j, k).

    Returns vertices (V, 3) float64 and faces (F, 3) int64 as numpy arrays, triangles facing increasing
    values (outward for fields that are negative inside)."""
    dev = values.device
    v = values.to(torch.float32) - level
    # a vertex exactly on the level counts as outside (as in mc.flying_edges)
    v = torch.where(v == 0, torch.full_like(v, torch.finfo(torch.float32).tiny), v)
    n0, n1, n2 = v.shape
    inside = v < 0
    case = torch.zeros((n0 - 1, n1 - 1, n2 - 1), dtype=torch.int32, device=dev)
    for c, (dx, dy, dz) in enumerate(CORNER_OFFSETS.tolist()):
        case |= inside[dx : dx + n0 - 1, dy : dy + n1 - 1, dz : dz + n2 - 1].to(torch.int32) << c
    count = torch.as_tensor(TRI_COUNT, device=dev)
    cells = (count[case.reshape(-1).long()] > 0).nonzero()[:, 0]
    if len(cells) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    cell_case = case.reshape(-1)[cells].long()
    ci = torch.stack([cells // ((n1 - 1) * (n2 - 1)), (cells // (n2 - 1)) % (n1 - 1), cells % (n2 - 1)], dim=1)
    del case, inside
    tris = torch.as_tensor(TRI_TABLE, device=dev)[cell_case]  # (K, T, 3) edge numbers, -1 padded
    valid = tris[:, :, 0] >= 0
    owner = ci[:, None, None, :].expand(-1, tris.shape[1], 3, 3)[valid]  # (F, 3, 3) cell of each corner
    edges = tris[valid]  # (F, 3)
    start = owner + torch.as_tensor(_EDGE_START, device=dev)[edges]
    axis = torch.as_tensor(_EDGE_AXIS, device=dev)[edges]
    gid = ((start[..., 0] * n1 + start[..., 1]) * n2 + start[..., 2]) * 3 + axis  # one id per grid edge
    uniq, faces = torch.unique(gid.reshape(-1), return_inverse=True)
    faces = faces.reshape(-1, 3)
    ax = uniq % 3
    lin = uniq // 3
    p0 = torch.stack([lin // (n1 * n2), (lin // n2) % n1, lin % n2], dim=1)
    p1 = p0 + torch.nn.functional.one_hot(ax, 3)
    flat = v.reshape(-1)
    v0 = flat[(p0[:, 0] * n1 + p0[:, 1]) * n2 + p0[:, 2]].double()
    v1 = flat[(p1[:, 0] * n1 + p1[:, 1]) * n2 + p1[:, 2]].double()
    t = v0 / (v0 - v1)
    pos = p0.double() + t[:, None] * torch.nn.functional.one_hot(ax, 3).double()
    verts = (pos * spacing + lo).cpu().numpy()
    faces = faces.cpu().numpy().astype(np.int64)
    return verts, _drop_degenerate(verts, faces)
