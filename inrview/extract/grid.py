"""Evaluating a field on a regular grid over the cube [-1, 1]^3, densely or coarse to fine.

Grids are (R+1)^3 vertex values for R cells per side, indexed [i, j, k] <-> (x, y, z), C order (z fastest).

Coarse to fine (sparse): evaluate a coarse grid densely; at each doubling, evaluate only the vertices of
the children of *flagged* cells, where a cell is flagged when its corners change sign or, for distance
fields, when one corner comes within `safety` cell diagonals of zero (a 1-Lipschitz distance that has a
zero inside a cell is within one diagonal of it at every corner). Vertices already known from the coarser
level are not evaluated again. Every other vertex takes the value of its nearest coarser vertex, which lies
in an unflagged cell of one sign, so marching cubes sees the dense grid's sign pattern and, in every cell
the surface passes through, the dense grid's exact values: the same triangles, at a fraction of the
network evaluations (about 1/20 at 256^3 and 1/50 at 512^3 for the shapes we measure).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..field import Field

#: Offsets of the 8 corners of a cell, (8, 3).
CORNERS = torch.tensor([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], dtype=torch.long)
#: Offsets in {0,1,2}^3 of the 27 fine vertices of a coarse cell that are not coarse vertices (19 of them).
_FINE = torch.tensor(
    [[i, j, k] for i in range(3) for j in range(3) for k in range(3) if (i % 2, j % 2, k % 2) != (0, 0, 0)],
    dtype=torch.long,
)


@dataclass
class GridResult:
    """A field sampled on a regular grid over [lo, hi]^3: values (R+1, R+1, R+1) float32, indexed
    [i, j, k] <-> (x, y, z) (a torch tensor when kept on a GPU), and how many network evaluations it took."""

    values: np.ndarray  # (R+1, R+1, R+1) float32, C-contiguous (a torch tensor on a GPU when asked for)
    evaluations: int
    lo: float = -1.0
    hi: float = 1.0

    @property
    def resolution(self) -> int:
        """R, the number of cells per side."""
        return self.values.shape[0] - 1

    @property
    def spacing(self) -> float:
        """Edge length of one cell, in the grid's units."""
        return (self.hi - self.lo) / self.resolution


def grid_points(n: int, lo: float = -1.0, hi: float = 1.0) -> torch.Tensor:
    """(n^3, 3) float32 vertex coordinates for n vertices per side, x slowest."""
    t = torch.linspace(lo, hi, n)
    return torch.stack(torch.meshgrid(t, t, t, indexing="ij"), dim=-1).reshape(-1, 3)


def work_device(field) -> torch.device:
    """Where the grid bookkeeping runs: on the field's GPU when it has one (and can evaluate tensors that
    stay there), else on the CPU."""
    dev = getattr(field, "device", torch.device("cpu"))
    return dev if dev.type == "cuda" and hasattr(field, "evaluate_device") else torch.device("cpu")


def _evaluate(field, pts: torch.Tensor) -> torch.Tensor:
    """Field values at points on the work device, returned on that device."""
    return field.evaluate_device(pts) if pts.device.type != "cpu" else field.evaluate_unit_tensor(pts)


def _dense_values(field, resolution: int, lo: float, hi: float, dev: torch.device) -> torch.Tensor:
    """(n, n, n) values of every vertex on `dev`; slab by slab, so that 512^3 needs no 1.6 GB coordinate
    array."""
    n = resolution + 1
    t = _coords(torch.arange(n, device=dev)[:, None], lo, (hi - lo) / resolution)[:, 0]
    out = torch.empty((n, n, n), dtype=torch.float32, device=dev)
    jk = torch.stack(torch.meshgrid(t, t, indexing="ij"), dim=-1).reshape(-1, 2)
    slab = max(1, (1 << 20) // (n * n)) if dev.type == "cpu" else max(1, (1 << 24) // (n * n))
    for s in range(0, n, slab):
        ii = t[s : s + slab]
        pts = torch.cat([ii.repeat_interleave(n * n)[:, None], jk.repeat(len(ii), 1)], dim=1)
        out[s : s + slab] = _evaluate(field, pts).reshape(len(ii), n, n)
    return out


def _result(vals: torch.Tensor, evaluations: int, lo: float, hi: float, on_device: bool) -> GridResult:
    return GridResult(vals if on_device and vals.device.type != "cpu" else vals.cpu().numpy(), evaluations, lo, hi)


def dense_grid(field: Field, resolution: int, lo: float = -1.0, hi: float = 1.0, on_device: bool = False) -> GridResult:
    """Every vertex evaluated (on the field's GPU when it has one; on_device: the values stay there, as a
    tensor)."""
    n = resolution + 1
    vals = _dense_values(field, resolution, lo, hi, work_device(field))
    return _result(vals, n**3, lo, hi, on_device)


def _linear(offsets: torch.Tensor, n: int) -> torch.Tensor:
    """Linear index offsets of (M, 3) grid offsets in a C-ordered (n, n, n) array."""
    return (offsets[:, 0] * n + offsets[:, 1]) * n + offsets[:, 2]


def _coords(idx: torch.Tensor, lo: float, h: float) -> torch.Tensor:
    """(M, 3) float32 positions of integer vertex indices; one formula for every level, so that a vertex
    has bit-identical coordinates (and values) whichever level evaluates it."""
    return idx.to(torch.float32).mul_(h).add_(lo)


def _threshold(field, h: float, safety: float) -> float | None:
    return safety * h * 3**0.5 if getattr(field, "is_distance", False) else None


def _flag(mn: torch.Tensor, mx: torch.Tensor, thr: float | None) -> torch.Tensor:
    near = (mx >= 0) & (mn <= 0)
    if thr is not None:
        near |= torch.minimum(mx.abs(), mn.abs()) < thr
    return near


def _dense_flags(vals: torch.Tensor, thr: float | None) -> torch.Tensor:
    """(K, 3) indices of the flagged cells of a dense (n, n, n) grid."""
    v = vals[None, None]
    mx = F.max_pool3d(v, 2, stride=1)[0, 0]
    mn = -F.max_pool3d(-v, 2, stride=1)[0, 0]
    return _flag(mn, mx, thr).nonzero()


def _dilate(cells: torch.Tensor, r: int) -> torch.Tensor:
    """cells plus their 26 neighbours (inside the grid of r cells per side), without repeats."""
    offs = torch.tensor([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)], device=cells.device)
    c = (cells[:, None, :] + offs[None]).reshape(-1, 3).clamp_(0, r - 1)
    mask = torch.zeros(r**3, dtype=torch.bool, device=cells.device)
    mask[(c[:, 0] * r + c[:, 1]) * r + c[:, 2]] = True
    lin = mask.nonzero()[:, 0]
    return torch.stack([lin // (r * r), (lin // r) % r, lin % r], dim=1)


def _upsample_repeat(vals: torch.Tensor) -> torch.Tensor:
    """_upsample_nearest by three repeats on the tensor's own device (a GPU's way; on a CPU the slab loop
    below is 4x faster)."""
    m = 2 * vals.shape[0] - 1
    return (
        vals.repeat_interleave(2, dim=0)[:m]
        .repeat_interleave(2, dim=1)[:, :m]
        .repeat_interleave(2, dim=2)[:, :, :m]
        .contiguous()
    )


def _upsample_nearest(vals: torch.Tensor) -> torch.Tensor:
    """(n, n, n) -> (2n-1, 2n-1, 2n-1): fine vertex i takes coarse vertex i // 2 (a corner of a cell that
    contains it, so an unflagged cell's sign is kept). Slab by slab, each fine value written once and in
    order: 0.16 s for 513^3 where one strided torch copy takes 0.7 s. On a GPU, three repeats."""
    if vals.device.type != "cpu":
        return _upsample_repeat(vals)
    x = vals.numpy()
    n = x.shape[0]
    m = 2 * n - 1
    out = np.empty((m, m, m), x.dtype)
    rows = np.repeat(x, 2, axis=2)[:, :, :m]
    for c in range(n):
        slab = np.repeat(rows[c], 2, axis=0)[:m]
        out[2 * c] = slab
        if 2 * c + 1 < m:
            out[2 * c + 1] = slab
    return torch.from_numpy(out)


def coarse_to_fine_grid(
    field: Field,
    resolution: int,
    base: int = 32,
    lo: float = -1.0,
    hi: float = 1.0,
    safety: float = 1.0,
    halo: int | None = None,
    on_device: bool = False,
) -> GridResult:
    """Grid values at `resolution` cells per side, evaluating the field only near its zero level.

    base: cells per side of the first, dense level (halved until it divides the resolution).
    safety: multiple of the cell diagonal under which a distance value counts as near the surface (1 is
        exact for a 1-Lipschitz distance; ignored for fields that are not distances).
    halo: cells of dilation around the flagged cells at each level; default 0 for distance fields and 1
        for other fields (occupancy logits), which have no distance bound to flag cells by.
    on_device: on a GPU field, return the values as a tensor on the GPU (for mc_torch) instead of numpy.
    """
    if halo is None:
        halo = 0 if getattr(field, "is_distance", False) else 1
    r = resolution
    levels = 0
    while r > base and r % 2 == 0:
        r //= 2
        levels += 1
    dev = work_device(field)
    vals = _dense_values(field, r, lo, hi, dev)
    evals = (r + 1) ** 3
    corners, fine_offsets = CORNERS.to(dev), _FINE.to(dev)
    cells = _dense_flags(vals, _threshold(field, (hi - lo) / r, safety))
    for level in range(levels):
        for _ in range(halo):
            cells = _dilate(cells, r)
        r2 = 2 * r
        n2 = r2 + 1
        fine = _upsample_nearest(vals)
        flat = fine.view(-1)
        if len(cells):
            # the new vertices of the children of flagged cells, each once
            base_lin = (2 * cells[:, 0] * n2 + 2 * cells[:, 1]) * n2 + 2 * cells[:, 2]
            mark = torch.zeros(n2**3, dtype=torch.bool, device=dev)
            mark[(base_lin[:, None] + _linear(fine_offsets, n2)[None]).reshape(-1)] = True
            lin = mark.nonzero()[:, 0]
            del mark
            idx = torch.stack([lin // (n2 * n2), (lin // n2) % n2, lin % n2], dim=1)
            flat[lin] = _evaluate(field, _coords(idx, lo, (hi - lo) / r2))
            evals += len(lin)
            del idx
        if len(cells) and level < levels - 1:
            # flag among the children only: a cell outside them lies in an unflagged coarse cell
            thr = _threshold(field, (hi - lo) / r2, safety)
            kids = (base_lin[:, None] + _linear(corners, n2)[None]).reshape(-1)
            keep = torch.empty(len(kids), dtype=torch.bool, device=dev)
            step = 1 << 18 if dev.type == "cpu" else 1 << 22
            for s in range(0, len(kids), step):
                v = flat[kids[s : s + step, None] + _linear(corners, n2)[None]]
                keep[s : s + step] = _flag(v.min(dim=1).values, v.max(dim=1).values, thr)
            kids = kids[keep]
            cells = torch.stack([kids // (n2 * n2), (kids // n2) % n2, kids % n2], dim=1)
        vals, r = fine, r2
    return _result(vals, evals, lo, hi, on_device)
