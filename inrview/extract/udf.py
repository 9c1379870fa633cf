"""Open surfaces from an unsigned distance field: one layer, boundaries where the surface has them, no caps.

An unsigned distance u has no sign change at its zero set, so marching cubes of u finds nothing, and of
u - eps finds a closed double layer around the surface. MeshUDF (Guillard et al. 2022, Sec. 3) gives each
cell near the surface a sign of its own: corners whose gradients of u point the same way as a reference
corner's lie on the same side of the surface, the others on the opposite side; marching cubes of the
pseudo-signed values then places one layer, and a face is dropped where u is not near zero on it (the
pseudo-signs also flip across the ridges of u, far from the surface).

Here, in PyTorch (CPU or GPU) on the coarse-to-fine grid of the signed extraction (`grid`), shifted by half
a cell so that a flat sheet through the origin (where normalisation puts a planar mesh) misses the vertices:

- cells near the surface are found and evaluated coarse to fine exactly as for a signed distance (u is a
  distance too: a cell whose corners are all farther than its diagonal holds no surface);
- gradients come from the grid itself, not from autograd: along each axis, of the forward and backward
  difference the larger in magnitude. Where the surface passes between a vertex and its neighbour, that
  difference is the one taken across the kink and is the smaller, so the chosen one is the gradient on the
  vertex's own side (exact for a plane), at no network evaluation; where both neighbours are higher the two
  are summed, which fades to 0 on the surface itself;
- an edge is crossed when the gradients at its ends point apart (a decision two cells sharing the edge
  always agree on); where a cell's crossed edges fit a sign pattern (an even number on each face) that is its
  marching-cubes case, else MeshUDF's rule (dot products with the gradient at the corner farthest from the
  surface) gives it; the triangles come from mc_torch's table and every vertex is made once per grid edge
  (t = u0 / (u0 + u1), whichever cell asks; on the grid vertex when t is within SNAP of 0 or 1);
- a cell whose signs on a face differ from its neighbour's across that face is left out (the two would put
  different segments on the face, and their triangles could cross);
- the network is evaluated once more at the mesh's vertices: faces with a vertex where u exceeds
  `FACE_TOLERANCE` cells are dropped (pseudo-signs also flip across ridges of u and past a sheet's
  boundary), and so are faces on an edge that three faces share;
- faces are oriented consistently over each piece (libigl's bfs_orient), since signs are only relative, and
  the slits left where neighbouring cells still disagreed (boundary loops of at most HOLE_EDGES edges) are
  closed (`holes`);
- a last pass finds pairs of triangles that still cross (where the snap to grid vertices folds two cells'
  triangles through each other; `crossings`, only among the triangles near a snapped vertex, since a
  closed slit's fan is checked as it is made and cells that agree on their faces cannot cross), removes both
  and closes the small hole left where that crosses nothing.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import NoSurfaceError
from .grid import GridResult, _evaluate, coarse_to_fine_grid, dense_grid, work_device
from .holes import boundary_edges, drop_non_manifold, drop_small_pieces, fill_small_holes, remove_crossings
from .mc_torch import _EDGE_AXIS, _EDGE_START, CORNER_OFFSETS, TRI_COUNT, TRI_TABLE

#: Cells (edge lengths) under which the smallest sum of the two end values of a cell's edges makes it a
#: candidate for the surface (1 is exact for a 1-Lipschitz distance; a learned one is not quite): 30% fewer
#: candidates than a smallest corner value under one cell, with the same meshes of the shared open scans.
CELL_TOLERANCE = 1.25
#: Faces with a vertex farther than this many cells from the surface (by the network) are dropped.
FACE_TOLERANCE = 0.35
#: Boundary loops of at most this many edges are slits between cells that disagreed, and are closed.
HOLE_EDGES = 16
#: Pieces of less area than this many squared cells (8 x 8) whose boundary comes no nearer than PIECE_GAP
#: cells to a larger piece's boundary are dropped: flakes of a learned field's zero set (the absolute value of
#: a network is zero wherever the network changes sign, also a few cells away from the surface), where a piece
#: cut off from the surface by a slit one cell wide has vertices at most a face diagonal (1.41 cells) from it.
MIN_PIECE = 64.0
PIECE_GAP = 1.5
#: The unsigned grid is shifted by this fraction of a cell along every axis.
GRID_SHIFT = 0.5
#: Crossings within this fraction of an edge from a grid vertex are put on that vertex. Only triangles at such
#: a vertex can cross another (elsewhere neighbouring cells agree on the segments of their shared faces), so
#: the final crossing test looks only around them: 1e-4 leaves about 1% as many as 1e-2 did (the same meshes
#: but for slivers, none crossing, on the shared open scans at 128^3; a well-trained sphere shell put 1021 of
#: its 58k vertices within 1e-3 of an edge's end, 82 within 1e-4).
SNAP = 1e-4
#: Safety of the coarse-to-fine flags (multiples of a cell diagonal), as for a signed distance: 1.25 (so that
#: the neighbours of candidate corners are evaluated too) gave the same meshes of the shared planar sheet at
#: 128^3 and 256^3 with 1.7-2.6x the evaluations. A cell of the last level (side h) is a candidate when an edge's
#: end values sum to under CELL_TOLERANCE cells, so a corner is under 0.625 h; for a 1-Lipschitz field that
#: can only happen inside a coarser cell (side H >= 2h) with a corner under 0.625 h + H sqrt(3) / 2, at most
#: 0.68 of its diagonal: 0.7 gives the same meshes of the open scans and the shell at 128^3 and 256^3 as 0.8
#: did, with 6-7% fewer evaluations.
UDF_SAFETY = 0.7


def udf_grid(
    field, resolution: int, on_device: bool = False, dense: bool = False, deadline: float | None = None
) -> GridResult:
    """Coarse-to-fine (or dense) grid of an unsigned distance field (values >= 0; see grid.coarse_to_fine_grid),
    shifted by GRID_SHIFT cells: a sheet lying exactly on grid vertices (a flat mesh, centred on the origin by
    the normalisation, lies on the grid's middle plane) has no side at them."""
    s = GRID_SHIFT * 2.0 / resolution
    if dense:
        return dense_grid(field, resolution, -1.0 + s, 1.0 + s, on_device=on_device)
    return coarse_to_fine_grid(
        field, resolution, lo=-1.0 + s, hi=1.0 + s, safety=UDF_SAFETY, on_device=on_device, deadline=deadline
    )


def _gradients(flat: torch.Tensor, lin: torch.Tensor, n: int) -> torch.Tensor:
    """(M, 3) gradients (per cell edge) at the vertices with linear indices lin of an (n, n, n) grid: per axis
    the forward or backward difference, whichever is larger in magnitude (one-sided at the grid's border);
    where both neighbours are higher (the surface passes between them), the two summed (the larger shrunk by the
    smaller, opposite one), which
    fades to 0 for a vertex on the surface, so that cells sharing it do not put it on opposite sides."""
    idx = torch.stack([lin // (n * n), (lin // n) % n, lin % n], dim=1)
    u = flat[lin]
    out = torch.empty((len(lin), 3), dtype=flat.dtype, device=flat.device)
    for a, stride in enumerate((n * n, n, 1)):
        i = idx[:, a]
        fwd = torch.where(i < n - 1, flat[torch.where(i < n - 1, lin + stride, lin)] - u, torch.zeros_like(u))
        bwd = torch.where(i > 0, u - flat[torch.where(i > 0, lin - stride, lin)], torch.zeros_like(u))
        big = torch.where(fwd.abs() >= bwd.abs(), fwd, bwd)
        small = torch.where(fwd.abs() >= bwd.abs(), bwd, fwd)
        # both neighbours higher: the surface passes between them, and the nearer to it the vertex is, the
        # closer the two differences are in size and the less either says about its side
        valley = (fwd > 0) & (bwd < 0)
        out[:, a] = torch.where(valley, big + small, big)
    return out


def _candidate_cells(u: torch.Tensor, tau: float) -> torch.Tensor:
    """(K,) linear indices (in the (n-1)^3 cell grid) of the cells with an edge whose two end values sum to
    less than tau (a 1-Lipschitz distance with a zero on an edge of length h has u0 + u1 <= h there)."""
    ex, ey, ez = u[1:] + u[:-1], u[:, 1:] + u[:, :-1], u[:, :, 1:] + u[:, :, :-1]
    mx = torch.minimum(torch.minimum(ex[:, :-1, :-1], ex[:, 1:, :-1]), torch.minimum(ex[:, :-1, 1:], ex[:, 1:, 1:]))
    my = torch.minimum(torch.minimum(ey[:-1, :, :-1], ey[1:, :, :-1]), torch.minimum(ey[:-1, :, 1:], ey[1:, :, 1:]))
    mz = torch.minimum(torch.minimum(ez[:-1, :-1], ez[1:, :-1]), torch.minimum(ez[:-1, 1:], ez[1:, 1:]))
    return (torch.minimum(torch.minimum(mx, my), mz).reshape(-1) < tau).nonzero()[:, 0]


#: The 12 edges of a cell as corner pairs, and the 6 faces as 4 edge indices each.
_CELL_EDGES = [(c, c | (1 << (2 - a))) for a in range(3) for c in range(8) if not (c >> (2 - a)) & 1]
_FACE_EDGES = [
    [e for e, (c0, c1) in enumerate(_CELL_EDGES) if (c0 >> (2 - axis)) & 1 == side and (c1 >> (2 - axis)) & 1 == side]
    for axis in range(3)
    for side in (0, 1)
]
#: (12, 8): edge e lies on the path of edges from corner 0 to corner c (x, then y, then z); (12, 6): edge e
#: bounds face f. Crossed edges times the first give each corner's side (odd: far), times the second the
#: crossings on each face.
_PATH_MATRIX = torch.zeros(12, 8)
for _c in range(8):
    _cur = 0
    for _a in range(3):
        if (_c >> (2 - _a)) & 1:
            _nxt = _cur | (1 << (2 - _a))
            _PATH_MATRIX[_CELL_EDGES.index((_cur, _nxt)), _c] = 1
            _cur = _nxt
_FACE_MATRIX = torch.zeros(12, 6)
for _f, _edges in enumerate(_FACE_EDGES):
    _FACE_MATRIX[_edges, _f] = 1
_CORNER_WEIGHTS = torch.tensor([float(1 << c) for c in range(8)])


def _unique_vertices(lin: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(sorted distinct values of lin, the index of each entry of lin among them); lin: vertex indices in an
    (n, n, n) grid. Through a mark and a position map the size of the grid where that is small (a third of
    the time of torch.unique's sort), else torch.unique."""
    if n**3 > 1 << 25:
        return torch.unique(lin.reshape(-1), return_inverse=True)
    mark = torch.zeros(n**3, dtype=torch.bool, device=lin.device)
    mark[lin.reshape(-1)] = True
    uniq = mark.nonzero()[:, 0]
    pos = torch.empty(n**3, dtype=torch.int32, device=lin.device)
    pos[uniq] = torch.arange(len(uniq), dtype=torch.int32, device=lin.device)
    return uniq, pos[lin.reshape(-1)].long()


def _cell_cases(flat: torch.Tensor, cells: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pseudo-sign case (K,) of each cell (bit c set: corner c on the other side of the surface from corner
    0) and the (K, 3) cell indices: from the crossed edges where they fit a sign pattern, else from the dot
    product of each corner's gradient with the reference corner's."""
    m, dev = n - 1, flat.device
    ci = torch.stack([cells // (m * m), (cells // m) % m, cells % m], dim=1)
    offs = torch.as_tensor(CORNER_OFFSETS, device=dev)
    lin = ((ci[:, 0] * n + ci[:, 1]) * n + ci[:, 2])[:, None] + (offs[:, 0] * n + offs[:, 1]) * n + offs[:, 2]
    uniq, inv = _unique_vertices(lin, n)
    g = _gradients(flat, uniq, n)[inv].reshape(-1, 8, 3)
    ref = flat[lin].argmax(dim=1)  # the corner farthest from the surface
    fallback = (g * g[torch.arange(len(ci), device=dev), ref][:, None]).sum(-1) < 0
    # the 12 edges in _CELL_EDGES' order: along x, y, z, each for corners (c & ~bit) in increasing order
    q = g.view(-1, 2, 2, 2, 3)
    dots = [(q[:, 0] * q[:, 1]).sum(-1), (q[:, :, 0] * q[:, :, 1]).sum(-1), (q[:, :, :, 0] * q[:, :, :, 1]).sum(-1)]
    cross = (torch.cat([d.reshape(-1, 4) for d in dots], dim=1) < 0).to(torch.float32)  # (K, 12)
    odd = (torch.remainder(cross @ _FACE_MATRIX.to(dev), 2) == 1).any(dim=1)
    sides = torch.remainder(cross @ _PATH_MATRIX.to(dev), 2) == 1
    far_side = torch.where(odd[:, None], fallback, sides)
    return (far_side.to(torch.float32) @ _CORNER_WEIGHTS.to(dev)).to(torch.int64), ci


#: For each axis, the corners of a cell on its far face and the matching corners of the next cell's near face.
_FACE_PAIRS = [
    ([c for c in range(8) if (c >> (2 - a)) & 1], [c for c in range(8) if not (c >> (2 - a)) & 1]) for a in range(3)
]


def _bits(case: torch.Tensor, corners: list[int]) -> torch.Tensor:
    """The 4-bit pattern of case's bits at corners (in that order)."""
    return sum(((case >> c) & 1) << i for i, c in enumerate(corners))


def _disagreeing(case: torch.Tensor, cells: torch.Tensor, m: int) -> torch.Tensor:
    """(K,) True for cells whose signs on their far face (along some axis) differ from those the next
    candidate cell gives the same face (other than by flipping all four, except on a face with two diagonal
    crossings, where the table's split depends on the flip): both would put different segments on the face,
    and their triangles could cross there. cells: sorted linear indices in the (m, m, m) cell grid."""
    bad = torch.zeros(len(cells), dtype=torch.bool, device=cells.device)
    idx = torch.stack([cells // (m * m), (cells // m) % m, cells % m], dim=1)
    dense = m**3 <= 1 << 25  # each cell's case from a map the size of the grid: no search
    if dense:
        by_cell = torch.full((m**3 + m * m,), -1, dtype=torch.int16, device=cells.device)
        by_cell[cells] = case.to(torch.int16)
    for a, stride in enumerate((m * m, m, 1)):
        far, near = _FACE_PAIRS[a]
        if dense:
            other = by_cell[cells + stride].long()
            has = (other >= 0) & (idx[:, a] < m - 1)
        else:
            i = torch.searchsorted(cells, cells + stride).clamp_max(len(cells) - 1)
            has = (cells[i] == cells + stride) & (idx[:, a] < m - 1)
            other = case[i]
        pa, pb = _bits(case, far), _bits(other, near)
        crossed = (pa != 0) & (pa != 15) & (pb != 0) & (pb != 15)
        same = (pa == pb) | ((pa == 15 - pb) & (pa != 6) & (pa != 9))
        clash = has & crossed & ~same
        bad |= clash  # the first of the two goes; the hole it leaves is closed with the other slits
    return bad


def _triangles(case: torch.Tensor, ci: torch.Tensor, n: int) -> torch.Tensor:
    """(F, 3) global edge ids (3 * linear start vertex + axis) of the triangles of cells with those cases."""
    dev = case.device
    keep = torch.as_tensor(TRI_COUNT, device=dev)[case] > 0
    case, ci = case[keep], ci[keep]
    tris = torch.as_tensor(TRI_TABLE, device=dev)[case]  # (K, T, 3), -1 padded
    start = torch.as_tensor(_EDGE_START, device=dev)
    # each of the 12 edges of a cell as an offset of global edge ids from the cell's first vertex
    offset = ((start[:, 0] * n + start[:, 1]) * n + start[:, 2]) * 3 + torch.as_tensor(_EDGE_AXIS, device=dev)
    base = ((ci[:, 0] * n + ci[:, 1]) * n + ci[:, 2]) * 3
    valid = tris[:, :, 0] >= 0
    return (base[:, None, None] + offset[tris.clamp_min(0)])[valid]


def _vertices(flat: torch.Tensor, gid: torch.Tensor, n: int, lo: float, h: float):
    """Vertices (V, 3) float64, faces (F, 3) and which vertices were put on grid vertices ((V,) bool) of
    triangles given as (F, 3) global edge ids: one vertex per crossed grid edge at t = u0 / (u0 + u1), or per
    grid vertex where a crossing falls on one (t within SNAP of 0 or 1: a surface through grid vertices would
    otherwise leave several vertices, and slivers folded over each other, at one point); faces left with a
    repeated vertex are dropped."""
    uniq, inv = torch.unique(gid.reshape(-1), return_inverse=True)
    ax, lin = uniq % 3, uniq // 3
    step = torch.tensor([n * n, n, 1], device=flat.device)[ax]
    u0, u1 = flat[lin].double(), flat[lin + step].double()
    t = (u0 / (u0 + u1).clamp_min(1e-30)).clamp(0.0, 1.0)
    big = 3 * n**3
    key = torch.where(t < SNAP, big + lin, torch.where(t > 1 - SNAP, big + lin + step, uniq))
    keys, kinv = torch.unique(key, return_inverse=True)
    faces = kinv[inv].reshape(-1, 3)
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    at_vertex = keys >= big
    vl = torch.where(at_vertex, keys - big, keys // 3)
    p0 = torch.stack([vl // (n * n), (vl // n) % n, vl % n], dim=1).double()
    tk = torch.zeros(len(keys), dtype=torch.float64, device=flat.device)
    tk[kinv] = t  # every key's t (the same for all edges that share it where it matters)
    axk = torch.where(at_vertex, torch.zeros_like(keys), keys % 3)
    off = torch.where(at_vertex, torch.zeros_like(tk), tk)[:, None] * F.one_hot(axk, 3).double()
    return (p0 + off) * h + lo, faces, at_vertex


def open_surface(field, grid: GridResult) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) in the grid's (normalised) units and faces (F, 3) of the open surface of the
    unsigned field sampled on grid (values >= 0); see the module docstring. Raises NoSurfaceError when no
    cell comes near zero."""
    u = torch.as_tensor(grid.values).to(torch.float32).clamp_min(1e-12)
    n, h = u.shape[0], grid.spacing
    flat = u.reshape(-1)
    cells = _candidate_cells(u, CELL_TOLERANCE * h)
    if len(cells) == 0:
        raise NoSurfaceError("no surface yet: the unsigned field comes near zero nowhere in the volume")
    case, ci = _cell_cases(flat, cells, n)
    keep = ~_disagreeing(case, cells, n - 1)
    gid = _triangles(case[keep], ci[keep], n)
    if len(gid) == 0:
        raise NoSurfaceError("no surface yet: no cell of the unsigned field changes side")
    verts, faces, snapped = _vertices(flat, gid, n, grid.lo, h)
    dev = work_device(field)
    at = _evaluate(field, verts.to(torch.float32).to(dev)).to(faces.device)
    near = at < FACE_TOLERANCE * h
    faces = faces[near[faces].all(dim=1)]
    used, faces = torch.unique(faces.reshape(-1), return_inverse=True)
    verts, faces = verts[used].cpu().numpy(), faces.reshape(-1, 3).cpu().numpy().astype(np.int64)
    snapped = snapped[used].cpu().numpy()
    if len(faces) == 0:
        raise NoSurfaceError("no surface yet: no face of the unsigned field lies near zero")
    # only at a snapped vertex can more than two faces share an edge (elsewhere every vertex is on its own grid
    # edge, and two cells that agree on their shared face put one edge there)
    faces, pieces = orient(drop_non_manifold(faces, snapped))
    src, dst = boundary_edges(faces)
    faces = drop_small_pieces(verts, faces, pieces, MIN_PIECE * h * h, PIECE_GAP * h, (src, dst))
    alive = np.zeros(len(verts), bool)
    alive[faces] = True  # dropping whole pieces leaves the other pieces' boundaries as they were
    verts, faces = fill_small_holes(verts, faces, HOLE_EDGES, edges=(src[alive[src]], dst[alive[src]]))
    # only triangles at a snapped vertex can cross (the fans closing slits were checked as they were made)
    verts, faces = remove_crossings(verts, faces, HOLE_EDGES, suspects=snapped)
    used = np.zeros(len(verts), bool)
    used[faces] = True
    return verts[used], (np.cumsum(used) - 1)[faces]


def orient(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Faces re-oriented consistently over each edge-connected piece (libigl's bfs_orient), and the (F,)
    piece of each."""
    import igl

    oriented, pieces = igl.bfs_orient(np.ascontiguousarray(faces, dtype=np.int64))
    return np.asarray(oriented, dtype=np.int64), np.asarray(pieces, dtype=np.int64)
