"""Training a signed distance field from a point cloud, with or without normals.

The losses are the SIREN / IGR family (Sitzmann et al. 2020, Sec. 4.2; Gropp et al. 2020, Eq. 2;
Atzmon & Lipman 2020, SAL), each returned as a named term:

- surface: |f(p)| at the input points (the zero level passes through the data);
- normal: 1 - cos(grad f(p), n(p)) where normals are known;
- eikonal: (|grad f(x)| - 1)^2 at input points and volume samples (f is a distance);
- off_surface: exp(-alpha |f(x)|) at uniform samples (no zero level far from the data);
- band: the distance from a volume sample x to the surface is at most d(x), its distance to the nearest
  input point, and at least d(x) - delta(x), with delta(x) a few local point spacings (data points lie
  near, not exactly on, the surface). With oriented normals the sign of f(x) comes from the generalised
  winding number of the oriented points (Barill et al. 2018, Sec. 3.4); without, the band bounds |f|
  (SAL's unsigned distance, written as bounds so that noise in d(x) does not bias the surface).

Volume samples are drawn once into a pool: input points moved by a Gaussian whose standard deviation is
the point's own scale, its distance to the k-th nearest neighbour (IGR, Sec. 5), so sparse regions are
explored more widely than dense ones; the same at a coarser scale; and uniform points in the cube.

Without normals the task is IGR/SAL: the sign is that of the initial sphere (the ReLU network's geometric
initialisation, or a short fit of the sphere's distance for networks without one).

Gradients are taken by autograd ('analytic') or by central differences ('numeric', Li et al. 2023,
Neuralangelo Sec. 3.1), which couples neighbouring cells of grid encodings.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ..config import FitConfig
from ..io.geometry import Geometry
from ..training import losses as L
from ..training.tasks import Task


@dataclass(frozen=True)
class PointCloudLoss:
    """Weights and sampling of the point-cloud losses (distances in normalised units, cube [-1, 1])."""

    surface: float = 3000.0
    """Weight of |f| at the input points."""
    normal: float = 100.0
    """Weight of 1 - cos(grad f, n) at the input points (ignored without normals)."""
    eikonal: float = 50.0
    """Weight of (|grad f| - 1)^2."""
    off_surface: float = 0.0
    """Weight of exp(-alpha |f|) at uniform samples (SIREN's term; the band term does its job)."""
    alpha: float = 100.0
    """Sharpness of the off-surface term."""
    band: float = 3000.0
    """Weight of the distance-band term on volume samples."""
    band_slack: float = 0.5
    """delta(x) = band_slack * (scale of the nearest input point): how far below d(x) |f(x)| may be. Half
    a scale keeps the surface from sagging into gaps between parts (teapot lid and spout, 100k points,
    0.25% noise: with the grid's weaker eikonal term 1.65e-3 -> 1.40e-3 Chamfer; SIREN at 10k points
    2.64e-3 -> 2.17e-3)."""
    use_sign: bool = True
    """With normals: sign the band by the winding number of the oriented points."""
    surface_batch: float = 0.5
    """Share of each batch that is input points (the rest are volume samples)."""
    gradient_share: float = 0.25
    """Share of the volume samples that also get the eikonal term."""
    pool_size: int = 100_000
    """Volume samples drawn once per cloud."""
    pool_mix: tuple[float, float, float] = (0.5, 0.3, 0.2)
    """Shares of the pool: around points at their own scale, at four times it, uniform in the cube."""
    scale_k: int = 10
    """The scale of a point is its distance to this nearest neighbour (IGR uses 50 on dense scans)."""
    scale_min: float = 0.002
    """Lower clamp of the per-point scale."""
    scale_max: float = 0.2
    """Upper clamp of the per-point scale."""
    gradient: Literal["auto", "analytic", "numeric"] = "auto"
    """How grad f is computed; 'auto' picks analytic (numeric costs seven evaluations per point)."""
    fd_step: float | None = None
    """Step of the central differences; None picks one cell of the finest grid (or 0.005)."""
    use_normals: bool = True
    """Use the normals when the cloud has them; False trains the normal-free loss."""
    sphere_warmup: int = 100
    """Networks without an analytic geometric initialisation first fit the distance of a sphere for this
    many steps (at most a quarter of a step budget): it gives the normal-free loss its sign, and a grid
    that starts from it fits oriented clouds better too (spot, 100k points, 0.5% noise: 1.6e-3 Chamfer
    against 3.0e-3 from the grid's near-zero start)."""
    sphere_radius: float = 0.5
    """Radius of that sphere (the ReLU network's geometric initialisation uses 0.5 as well)."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CloudFitConfig(FitConfig):
    """A FitConfig that also names the point-cloud loss (None: `default_loss` for the network).

    to_dict() is FitConfig's, so checkpoints written from a cloud fit load wherever FitConfig does; the
    loss itself is reported apart (see inrview.recon)."""

    loss: PointCloudLoss | None = None
    """Point-cloud loss weights and sampling."""


def default_loss(kind: str, has_normals: bool) -> PointCloudLoss:
    """Loss settings that work for each network family (measured with scripts/bench_reconstruct.py):
    smooth MLPs take a strong normal term (it smooths noise away between sparse points); grids a weaker
    one (they have the points to fit detail and the normal term would round it). For SIREN a strong
    eikonal term (300) kept spikes and webs out of sparse noisy clouds (armadillo at 2k points, 0.5%
    noise: 10.1e-3 -> 7.6e-3 Chamfer) without rounding clean ones. Grids take a weak one (10): a stiffer
    field blows the surface up into bubbles where the data has free edges or inner walls (the teapot's
    lid rim and the spout passing through its body)."""
    if not has_normals:
        return PointCloudLoss(use_normals=False, normal=0.0)
    if kind == "grid":
        return PointCloudLoss(normal=100.0, eikonal=10.0)
    return PointCloudLoss(normal=1000.0, eikonal=300.0)


def knn_distance(points: np.ndarray, k: int, tree=None) -> np.ndarray:
    """(N,) distance of each point to its k-th nearest neighbour, itself excluded."""
    from scipy.spatial import cKDTree

    pts = np.asarray(points, dtype=np.float64)
    k = int(min(k, len(pts) - 1))
    if k < 1:
        return np.full(len(pts), np.inf)
    d, _ = (tree or cKDTree(pts)).query(pts, k=k + 1, workers=-1)
    return d[:, -1]


def point_scales(points: np.ndarray, k: int = 10, lo: float = 0.002, hi: float = 0.2, knn=None) -> np.ndarray:
    """(N,) per-point sampling scale: the distance to the k-th nearest neighbour, clamped to [lo, hi]
    (knn: those distances when already known)."""
    return np.clip(knn_distance(points, k) if knn is None else knn, lo, hi)


def point_areas(points: np.ndarray, k: int = 10, knn=None) -> np.ndarray:
    """(N,) surface area each point stands for: k points share the disc out to the k-th neighbour."""
    r = knn_distance(points, k) if knn is None else knn
    r = np.where(np.isfinite(r), r, 0.0)
    return np.pi * r**2 / max(1, min(k, len(points) - 1))


#: The winding number of a cloud is evaluated from at most this many of its points (it only decides
#: signs away from the data, where a subsample gives the same answer).
WINDING_POINTS = 20_000


def winding_number(points: np.ndarray, normals: np.ndarray, queries: np.ndarray, k: int = 10,
                   max_points: int = WINDING_POINTS, seed: int = 0) -> np.ndarray:
    """(Q,) generalised winding number of an oriented point cloud at the queries (about 1 inside a
    closed surface, 0 outside, in between near holes), by libigl's fast Barnes-Hut evaluation on up to
    max_points of the points (each standing for its share of the area)."""
    import igl

    p = np.asarray(points, dtype=np.float64)
    n = np.asarray(normals, dtype=np.float64)
    if len(p) > max_points:
        idx = np.random.default_rng(seed).choice(len(p), max_points, replace=False)
        p, n = p[idx], n[idx]
    p, n = np.ascontiguousarray(p), np.ascontiguousarray(n)
    return igl.fast_winding_number(p, n, point_areas(p, k), np.ascontiguousarray(queries, dtype=np.float64))


@dataclass
class VolumePool:
    """Volume samples with their band: points (M, 3); dist (M,) distance to the nearest input point;
    slack (M,) delta; sign (M,) +1 outside, -1 inside, 0 unknown or not needed."""

    points: np.ndarray
    dist: np.ndarray
    slack: np.ndarray
    sign: np.ndarray


def volume_pool(points: np.ndarray, normals: np.ndarray | None, scales: np.ndarray, loss: PointCloudLoss,
                seed: int = 0, tree=None) -> VolumePool:
    """Draw the volume samples of a cloud (normalised coordinates) and compute their bands and signs.

    Signs come from the winding number of the oriented points and are computed only where the band's
    lower bound is positive (elsewhere the band bounds |f| from above only)."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    m = int(loss.pool_size)
    mix = np.asarray(loss.pool_mix, dtype=np.float64)
    counts = np.floor(mix / mix.sum() * m).astype(int)
    counts[-1] = m - counts[:-1].sum()
    pts = np.asarray(points, dtype=np.float64)
    parts = []
    for factor, c in ((1.0, counts[0]), (4.0, counts[1])):
        i = rng.integers(0, len(pts), c)
        parts.append(pts[i] + rng.normal(size=(c, 3)) * (factor * scales[i])[:, None])
    parts.append(rng.uniform(-1, 1, (counts[2], 3)))
    q = np.clip(np.concatenate(parts), -1, 1)
    d, j = (tree or cKDTree(pts)).query(q, workers=-1)
    slack = loss.band_slack * scales[j]
    sign = np.zeros(len(q))
    if normals is not None and loss.use_sign:
        need = d > slack
        if need.any():
            w = winding_number(pts, normals, q[need], loss.scale_k, seed=seed)
            sign[need] = np.where(w > 0.6, -1.0, np.where(w < 0.4, 1.0, 0.0))
    return VolumePool(q.astype(np.float32), d.astype(np.float32), slack.astype(np.float32), sign.astype(np.float32))


def finest_cell(model_cfg) -> float | None:
    """Cell size of the finest grid level of a grid encoding, in normalised units (None otherwise)."""
    if model_cfg.kind != "grid":
        return None
    return 2.0 / float(model_cfg.grid_max_resolution)


class PointCloudTask(Task):
    """Point-cloud losses on a cloud in normalised coordinates (see the module docstring).

    points (N, 3), normals (N, 3) or None, scales (N,) per-point sampling scales, pool: volume samples;
    batch_size: samples per step (loss.surface_batch of them input points)."""

    def __init__(self, points: np.ndarray, normals: np.ndarray | None, scales: np.ndarray, pool: VolumePool,
                 loss: PointCloudLoss = PointCloudLoss(), batch_size: int = 8192, gradient: str = "analytic",
                 fd_step: float = 0.005, sphere_warmup: int = 0):
        self.cfg = loss
        self.batch_size = int(batch_size)
        self.points = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))
        self.use_normals = normals is not None and loss.use_normals and loss.normal > 0
        self.normals = torch.from_numpy(np.ascontiguousarray(normals, dtype=np.float32)) if self.use_normals else None
        self.scales = torch.from_numpy(np.ascontiguousarray(scales, dtype=np.float32))
        self.pool = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in dataclasses.asdict(pool).items()
                     if v is not None}
        self.gradient_mode = gradient
        self.fd_step = float(fd_step)
        self.sphere_warmup = int(sphere_warmup)
        self.calls = 0

    def settle(self, model) -> float:
        """Once training is done: move the zero level to the middle of the input points, by subtracting the
        median of f over them from the output layer's bias. The data terms balance against the band and
        eikonal terms, and a grid's field is shallow near the surface (weak eikonal term), so a small
        leftover bias in f is a visible offset of the whole surface, different from run to run: on the
        teapot at 100k points with 0.25% noise a median f of 2e-4 had inflated the surface enough for
        1.10x Poisson's Chamfer, 0.94x once settled; where the median is already about 0, nothing
        changes. Returns the shift."""
        from ..models import output_layer

        last = output_layer(model)
        if last is None or last.bias is None:
            return 0.0
        with torch.no_grad():
            f = torch.cat([model(c).reshape(-1) for c in self.points.split(65_536)])
            shift = float(f.median())
            if math.isfinite(shift):
                last.bias -= shift
        return shift if math.isfinite(shift) else 0.0

    def to(self, device):
        self.points, self.scales = self.points.to(device), self.scales.to(device)
        if self.normals is not None:
            self.normals = self.normals.to(device)
        self.pool = {k: v.to(device) for k, v in self.pool.items()}
        return self

    # -- gradients --------------------------------------------------------------------------------------
    def _values_and_gradients(self, model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.gradient_mode == "numeric":
            h = self.fd_step
            eye = torch.eye(3, device=x.device, dtype=x.dtype) * h
            shifted = torch.cat([x] + [x + eye[i] for i in range(3)] + [x - eye[i] for i in range(3)])
            out = model(shifted).reshape(7, x.shape[0])
            grad = torch.stack([(out[1 + i] - out[4 + i]) / (2 * h) for i in range(3)], dim=-1)
            return out[0], grad
        x = x.detach().requires_grad_(True)
        y = model(x).reshape(-1)
        return y, L.gradient(y, x)

    # -- the loss ------------------------------------------------------------------------------------
    def loss(self, model, generator):
        self.calls += 1
        if self.calls <= self.sphere_warmup:
            return self._sphere_loss(model, generator)
        c = self.cfg
        dev = self.points.device
        b_surf = max(1, int(round(self.batch_size * c.surface_batch)))
        b_vol = max(1, self.batch_size - b_surf)
        b_grad = int(round(b_vol * c.gradient_share))
        i_surf = torch.randint(0, len(self.points), (b_surf,), generator=generator).to(dev)
        i_vol = torch.randint(0, len(self.pool["points"]), (b_vol,), generator=generator).to(dev)
        xv = self.pool["points"][i_vol]
        # points that need gradients first: the input points and a share of the volume samples
        f_g, g = self._values_and_gradients(model, torch.cat([self.points[i_surf], xv[:b_grad]]))
        f_v = model(xv[b_grad:]).reshape(-1)
        f_vol = torch.cat([f_g[b_surf:], f_v])
        out = {"surface": f_g[:b_surf].abs().mean(), "eikonal": L.eikonal(g)}
        total = c.surface * out["surface"] + c.eikonal * out["eikonal"]
        if self.use_normals:
            n = self.normals[i_surf]
            valid = n.abs().sum(dim=-1) > 0
            out["normal"] = L.normal_alignment(g[:b_surf][valid], n[valid]) if valid.any() else f_g.new_zeros(())
            total = total + c.normal * out["normal"]
        if c.band > 0:
            out["band"] = band_loss(f_vol, self.pool["dist"][i_vol], self.pool["slack"][i_vol], self.pool["sign"][i_vol])
            total = total + c.band * out["band"]
        if c.off_surface > 0:
            out["off_surface"] = L.off_surface(f_vol, c.alpha)
            total = total + c.off_surface * out["off_surface"]
        out["total"] = total
        return out

    def _sphere_loss(self, model, generator):
        """Fit the signed distance of a sphere (a stand-in for geometric initialisation)."""
        dev = self.points.device
        x = (torch.rand(self.batch_size, 3, generator=generator) * 2 - 1).to(dev)
        target = x.norm(dim=-1) - self.cfg.sphere_radius
        err = (model(x).reshape(-1) - target).abs().mean()
        return {"sphere": err, "total": err}


def band_loss(f: torch.Tensor, dist: torch.Tensor, slack: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    """Mean violation of d - delta <= s f <= d (signed samples) or d - delta <= |f| <= d (sign 0)."""
    sf = torch.where(sign != 0, sign * f, f.abs())
    lo = (dist - slack).clamp(min=0)
    return (torch.relu(lo - sf) + torch.relu(sf - dist)).mean()


def make_pointcloud_task(geometry_unit: Geometry, cfg: FitConfig, loss: PointCloudLoss | None = None) -> PointCloudTask:
    """The point-cloud task for a cloud already in normalised coordinates.

    The cloud's normals are used when present (and loss.use_normals); without them the normal-free loss
    is used. loss: None picks `default_loss(cfg.model.kind, has_normals)`."""
    pts = np.asarray(geometry_unit.vertices, dtype=np.float64)
    has_normals = geometry_unit.normals is not None
    if loss is None:
        loss = getattr(cfg, "loss", None) or default_loss(cfg.model.kind, has_normals)
    normals = geometry_unit.normals if (has_normals and loss.use_normals) else None
    from scipy.spatial import cKDTree

    tree = cKDTree(pts)
    scales = point_scales(pts, loss.scale_k, loss.scale_min, loss.scale_max, knn_distance(pts, loss.scale_k, tree))
    pool = volume_pool(pts, normals, scales, loss, cfg.train.seed, tree)
    mode = "analytic" if loss.gradient == "auto" else loss.gradient
    step = loss.fd_step or finest_cell(cfg.model) or 0.005
    geometric = cfg.model.kind in ("relu", "fourier") and cfg.model.geometric_init
    warmup = 0 if geometric else loss.sphere_warmup
    if cfg.train.seconds is None:  # a short step budget keeps most of its steps for the data
        warmup = min(warmup, cfg.train.steps // 4)
    return PointCloudTask(pts, normals, scales, pool, loss, cfg.train.batch_size, mode, step, warmup)
