"""Latent-conditioned decoders for shape spaces: one network for a collection, one code per shape.

Two families, both f(z, x) -> value (signed distance, or an occupancy logit):

- 'deepsdf': the DeepSDF decoder (Park et al. 2019, Sec. 5): a ReLU MLP on [z, x] with the input fed again
  at the middle layer. The first and the skip layer's products with z are computed once per shape and
  broadcast over its points (the same function as concatenating z to every point, cheaper by the code's
  share of the input).
- 'deform': a template deformed per shape (as deformed-template decoders such as DIF-Net and DIT do): f(z, x)
  = T(x + B(x) z), where T is one signed distance network for the whole collection (a finer feature grid
  and a small MLP, the code not among its inputs) and B(x) a (3, D) field of displacement modes (a coarse
  grid and a small MLP), so the displacement is linear in the code, like a statistical shape model's mode
  weights. On 50 femurs (meshes in vertex correspondence) aligned first, 480 s trained it to a training error
  of 8.0e-4 against grid's 1.7e-3, and it completed held-out half and 300-point scans closer than a PCA
  shape model; on hippocampus masks (no correspondence) its half scans were farther than grid's. So
  `space fit --model auto` picks it for collections in correspondence and 'grid' otherwise (docs/space.md).
- 'grid': a multi-resolution feature grid shared by all shapes encodes x, and a small MLP on [z, grid(x), x]
  decodes it (the code enters the first layer the same factorised way). The grid carries the detail every
  shape has in common; the code moves the surface. The grid is coarse (4, 8, 16 cells) on purpose: a shared
  grid as fine as a single-shape fit's (8..64 cells) learnt the collection's average detail and put spurious
  surface where shapes differ (Chamfer 0.06 against 0.002-0.005 on four ellipsoids at 300 epochs). With 4..16
  it trained 15% faster than the DeepSDF MLP of width 128 and depth 4 and was as accurate or better
  (docs/space.md has the figures).

Per-shape codes are an nn.Embedding initialised N(0, init_std^2) (DeepSDF's auto-decoder) and kept apart
from the decoder (the decoder is what DistributedDataParallel averages; a code is trained only on the
process that holds its shape).
"""

from __future__ import annotations

import torch
from torch import nn

from ..config.space import LatentConfig
from .encodings import MultiResGrid


class LatentDecoder(nn.Module):
    """f(z, x): codes (S, D) and points (S, P, 3) -> values (S, P); see the module docstring."""

    def __init__(self, cfg: LatentConfig, seed: int = 0):
        super().__init__()
        if cfg.width < 1 or cfg.depth < 1 or cfg.latent_dim < 1:
            raise ValueError("width, depth and latent_dim must be at least 1")
        torch.manual_seed(seed)
        self.cfg = cfg
        self.grid = self.warp = None
        feat = 3
        if cfg.kind in ("grid", "deform"):
            self.grid = MultiResGrid(3, cfg.grid if cfg.kind == "grid" else cfg.template, init_scale=1e-4, seed=seed)
            feat += self.grid.out_dim
        elif cfg.kind != "deepsdf":
            raise ValueError(f"unknown latent decoder {cfg.kind!r} (deepsdf, grid, deform)")
        if cfg.kind == "deform":
            self.warp = Warp(cfg, seed)
        self.skip_at = cfg.depth // 2 if cfg.kind == "deepsdf" and cfg.depth >= 2 else None
        w, d = cfg.width, cfg.latent_dim
        self.first_x = nn.Linear(feat, w)
        self.first_z = None if self.warp is not None else nn.Linear(d, w, bias=False)
        self.hidden = nn.ModuleList(nn.Linear(w + (feat if i == self.skip_at else 0), w) for i in range(1, cfg.depth))
        self.skip_z = nn.Linear(d, w, bias=False) if self.skip_at else None
        self.out = nn.Linear(w, 1)
        self.act = nn.ReLU()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(..., 3) points -> (..., F) inputs of the first layer: [grid(x), x] or x."""
        if self.grid is None:
            return x
        flat = x.reshape(-1, 3)
        return torch.cat([self.grid(flat), flat], dim=-1).reshape(*x.shape[:-1], -1)

    def forward(self, codes: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """codes (S, D), x (S, P, 3) -> (S, P) raw outputs (distance or logit)."""
        if self.warp is not None:
            x = x + self.warp(codes, x)
        f = self.features(x)
        h = self.first_x(f)
        h = self.act(h if self.first_z is None else h + self.first_z(codes)[:, None, :])
        for i, lin in enumerate(self.hidden, start=1):
            if i == self.skip_at:
                h = self.act(lin(torch.cat([h, f], dim=-1)) + self.skip_z(codes)[:, None, :])
            else:
                h = self.act(lin(h))
        return self.out(h)[..., 0]


class Warp(nn.Module):
    """The 'deform' decoder's displacement: codes (S, D), points (S, P, 3) -> B(x) z (S, P, 3), with the
    modes B(x) (3, D) from a coarse feature grid (LatentConfig.grid) and a two-layer MLP on [grid(x), x]."""

    def __init__(self, cfg: LatentConfig, seed: int = 0):
        super().__init__()
        self.grid = MultiResGrid(3, cfg.grid, init_scale=1e-4, seed=seed + 1)
        w, self.d = cfg.width, cfg.latent_dim
        self.mlp = nn.Sequential(
            nn.Linear(self.grid.out_dim + 3, w), nn.ReLU(), nn.Linear(w, w), nn.ReLU(), nn.Linear(w, 3 * self.d)
        )

    def forward(self, codes: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, 3)
        modes = self.mlp(torch.cat([self.grid(flat), flat], dim=-1)).reshape(*x.shape[:-1], 3, self.d)
        return torch.einsum("spcd,sd->spc", modes, codes)


class ShapeCodes(nn.Module):
    """One code per shape: an nn.Embedding (n_shapes, latent_dim) initialised N(0, init_std^2)."""

    def __init__(self, n_shapes: int, latent_dim: int, init_std: float = 0.01, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed + 31337)
        self.embedding = nn.Embedding(n_shapes, latent_dim)
        with torch.no_grad():
            self.embedding.weight.copy_(torch.randn(n_shapes, latent_dim, generator=g) * init_std)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """(S,) shape indices -> (S, D) codes."""
        return self.embedding(idx)

    @property
    def weight(self) -> torch.Tensor:
        """(n_shapes, D) all codes."""
        return self.embedding.weight


def code_regulariser(codes: torch.Tensor) -> torch.Tensor:
    """Sum over the given codes (S, D) of ||z||^2: the zero-mean Gaussian prior on codes (DeepSDF Eq. 9),
    weighted and normalised by the caller."""
    return codes.pow(2).sum()


class CodeField(nn.Module):
    """The decoder with one code fixed, as a plain coordinate network: x (N, 3) -> (N, 1), for Field and
    the extraction code."""

    def __init__(self, decoder: LatentDecoder, code: torch.Tensor):
        super().__init__()
        self.decoder = decoder
        self.register_buffer("code", code.detach().reshape(1, -1).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, 3) -> (N, 1) raw outputs for the fixed code."""
        return self.decoder(self.code.to(x.dtype), x[None])[0][:, None]
