"""Input encodings: Fourier features and multi-resolution feature grids (dense or hashed), for 2D and 3D.

All encodings take coordinates in [-1, 1]^d as (N, d) and return (N, out_dim).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config import GridEncoding


class FourierFeatures(nn.Module):
    """gamma(x) = [x, sin(2 pi B x), cos(2 pi B x)] with B ~ N(0, scale^2) (Tancik et al. 2020, Sec. 4)."""

    def __init__(self, in_dim: int, n_features: int = 64, scale: float = 8.0, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed + 7919)
        self.register_buffer("B", torch.randn(in_dim, n_features, generator=g) * scale)
        self.out_dim = in_dim + 2 * n_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        proj = (2.0 * math.pi) * (x @ self.B)
        return torch.cat([x, torch.sin(proj), torch.cos(proj)], dim=-1)


class MultiResGrid(nn.Module):
    """Features on the levels of a GridEncoding, interpolated (bi/trilinear) and concatenated.

    A level whose vertex count fits in max_entries is a dense tensor sampled with grid_sample (fast on
    CPUs); a finer level is a hash table of max_entries rows indexed by the spatial hash of instant-ngp
    (Mueller et al. 2022, Sec. 3).
    """

    PRIMES = (1, 2654435761, 805459861)

    def __init__(self, in_dim: int, grid: GridEncoding, init_scale: float = 1e-4, seed: int = 0):
        super().__init__()
        if in_dim not in (2, 3):
            raise ValueError("grid encodings support 2D and 3D inputs")
        features, max_entries = grid.features, grid.max_entries
        self.in_dim, self.features = in_dim, features
        self.resolutions = grid.resolutions()
        g = torch.Generator().manual_seed(seed + 104729)
        self.dense = nn.ParameterList()
        self.hashed = nn.ParameterList()
        self.kinds: list[tuple[str, int]] = []
        for r in self.resolutions:
            n = (r + 1) ** in_dim
            if n <= max_entries:
                shape = (1, features) + (r + 1,) * in_dim
                p = (torch.rand(shape, generator=g) * 2 - 1) * init_scale
                self.kinds.append(("dense", len(self.dense)))
                self.dense.append(nn.Parameter(p))
            else:
                p = (torch.rand(max_entries, features, generator=g) * 2 - 1) * init_scale
                self.kinds.append(("hash", len(self.hashed)))
                self.hashed.append(nn.Parameter(p))
        self.out_dim = grid.levels * features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        for (kind, i), r in zip(self.kinds, self.resolutions):
            outs.append(self._dense(self.dense[i], x) if kind == "dense" else self._hash(self.hashed[i], x, r))
        return torch.cat(outs, dim=-1)

    def _dense(self, table: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        grid = x.view((1,) * self.in_dim + (n, self.in_dim)).to(table.dtype)
        out = F.grid_sample(table, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return out.reshape(self.features, n).t()

    def _hash(self, table: torch.Tensor, x: torch.Tensor, r: int) -> torch.Tensor:
        pos = (x.clamp(-1, 1) + 1) * 0.5 * r
        base = torch.floor(pos).clamp(max=r - 1)
        frac = pos - base
        base = base.long()
        out = 0
        size = table.shape[0]
        for corner in range(2**self.in_dim):
            offs = [(corner >> d) & 1 for d in range(self.in_dim)]
            idx = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
            w = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
            for d, o in enumerate(offs):
                idx = idx ^ ((base[:, d] + o) * self.PRIMES[d])
                w = w * (frac[:, d] if o else 1 - frac[:, d])
            out = out + w[:, None] * table[idx % size]
        return out
