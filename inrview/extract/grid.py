"""Evaluating a field on a regular grid over the cube [-1, 1]^3, densely or coarse to fine.

Grids are (R+1)^3 vertex values for R cells per side, indexed [i, j, k] <-> (x, y, z).
Coarse to fine: evaluate a coarse grid, then at each doubling evaluate only the vertices of cells near the
surface (a sign change, or |f| below the cell diagonal for distance fields) and fill the rest by trilinear
interpolation of the coarser level, which keeps their sign. The marched surface is the dense grid's up to
the resolution, at a fraction of the network evaluations.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..field import Field


@dataclass
class GridResult:
    values: np.ndarray  # (R+1, R+1, R+1) float32
    evaluations: int
    lo: float = -1.0
    hi: float = 1.0

    @property
    def resolution(self) -> int:
        return self.values.shape[0] - 1

    @property
    def spacing(self) -> float:
        return (self.hi - self.lo) / self.resolution


def grid_points(n: int, lo: float = -1.0, hi: float = 1.0) -> torch.Tensor:
    """(n^3, 3) float32 vertex coordinates for n vertices per side, x slowest."""
    t = torch.linspace(lo, hi, n)
    return torch.stack(torch.meshgrid(t, t, t, indexing="ij"), dim=-1).reshape(-1, 3)


def dense_grid(field: Field, resolution: int, lo: float = -1.0, hi: float = 1.0) -> GridResult:
    n = resolution + 1
    vals = field.evaluate_unit_tensor(grid_points(n, lo, hi)).reshape(n, n, n)
    return GridResult(vals.numpy(), n**3, lo, hi)


def _near_cells(vals: torch.Tensor, threshold: float | None) -> torch.Tensor:
    """(R, R, R) bool: cells whose corners change sign or come within threshold of zero."""
    v = vals[None, None]
    mx = F.max_pool3d(v, 2, stride=1)[0, 0]
    mn = -F.max_pool3d(-v, 2, stride=1)[0, 0]
    near = (mx >= 0) & (mn <= 0)
    if threshold is not None:
        near |= torch.minimum(mx.abs(), mn.abs()) < threshold
    return near


def coarse_to_fine_grid(field: Field, resolution: int, base: int = 32, lo: float = -1.0, hi: float = 1.0,
                        safety: float = 2.0) -> GridResult:
    """Grid values at `resolution` cells per side, evaluating the field only near its zero level.

    base: cells per side of the first, dense level (halved until it divides the resolution).
    safety: multiple of the cell diagonal under which a distance value counts as near the surface.
    """
    r = resolution
    levels = 0
    while r > base and r % 2 == 0:
        r //= 2
        levels += 1
    res = dense_grid(field, r, lo, hi)
    vals = torch.from_numpy(res.values)
    evals = res.evaluations
    for _ in range(levels):
        h = (hi - lo) / r
        thr = safety * h * 3**0.5 if field.is_distance else None
        cells = _near_cells(vals, thr)
        cells = F.max_pool3d(cells[None, None].float(), 3, stride=1, padding=1)[0, 0] > 0  # one-cell halo
        r2 = 2 * r
        fine = F.interpolate(vals[None, None], size=(r2 + 1,) * 3, mode="trilinear", align_corners=True)[0, 0]
        fine_cells = cells.repeat_interleave(2, 0).repeat_interleave(2, 1).repeat_interleave(2, 2)
        pts_mask = F.max_pool3d(F.pad(fine_cells[None, None].float(), (1, 1, 1, 1, 1, 1)), 2, stride=1)[0, 0] > 0
        idx = pts_mask.nonzero()
        if len(idx):
            coords = lo + idx.float() * ((hi - lo) / r2)
            fine[idx[:, 0], idx[:, 1], idx[:, 2]] = field.evaluate_unit_tensor(coords)
            evals += len(idx)
        vals, r = fine.contiguous(), r2
    return GridResult(vals.numpy(), evals, lo, hi)
