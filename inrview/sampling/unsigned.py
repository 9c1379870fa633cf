"""Unsigned distance targets (open surfaces, single-layer sheets) and the choice between signed and unsigned.

- `UnsignedDistance`: given to mesh_samples, the signed pool's points (surface, two Gaussian shells, uniform)
  with exact unsigned distances to the triangles (Open3D's raycasting scene), no sign: an open mesh needs none.
- `cloud_udf_samples`: the same from a point cloud without normals: the points themselves at distance 0,
  points moved by a Gaussian of their own scale (the distance to their k-th neighbour) and uniform points,
  each with its distance to the nearest input point (a KD-tree). Near a dense cloud this is the distance to
  the surface it samples, within half a point spacing (NDF, Chibane et al. 2020, trains on the same kind of
  targets; CAP-UDF, Zhou et al. 2022, refines them by pulling queries onto the cloud).
- `mesh_topology` / `choose_target`: boundary and non-manifold edges, and whether a mesh is better learned
  unsigned (it is open, encloses nothing, or is mostly thinner than one extraction cell).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..config import FitConfig, SamplingConfig
from ..io.surface import sample_surface
from . import SampleSet, mesh_samples, split_counts
from .cloud import point_scales
from .targets import MeshDistance


class UnsignedDistance:
    """A mesh's exact unsigned distance, in the role mesh_samples gives a MeshDistance (`signed` answers
    unsigned, the surface is at 0): `mesh_samples(v, f, cfg, seed, distance=UnsignedDistance(v, f))` draws
    the signed pool's points with unsigned targets (`sdf` holds them, all >= 0); vertices in the normalised
    cube."""

    surface_value = 0.0

    def __init__(self, vertices: np.ndarray, faces: np.ndarray):
        self.dist = MeshDistance(vertices, faces, sign="parity")

    def signed(self, q: np.ndarray) -> np.ndarray:
        return self.dist.unsigned(q)


def cloud_udf_samples(
    points: np.ndarray, cfg: SamplingConfig = SamplingConfig(), seed: int = 0, scale_k: int = 10
) -> SampleSet:
    """A pool of unsigned-distance samples from (N, 3) points in the normalised cube: input points (target 0),
    points moved by N(0, scale) and N(0, 4 scale) with scale each point's k-th neighbour distance (clamped
    to [sigmas[0] / 4, sigmas[1]]), and uniform points; targets are distances to the nearest input point."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    pts = np.asarray(points, np.float64)
    tree = cKDTree(pts)
    n_surf, n_near, n_far, n_uni = split_counts(cfg.n_samples, cfg)
    scale = point_scales(pts, scale_k, cfg.sigmas[0] / 4, cfg.sigmas[1])
    i = rng.integers(0, len(pts), n_surf + n_near + n_far)
    base, s = pts[i], scale[i][:, None]
    near = base[n_surf : n_surf + n_near] + rng.normal(0, 1, (n_near, 3)) * s[n_surf : n_surf + n_near]
    far = base[n_surf + n_near :] + rng.normal(0, 1, (n_far, 3)) * 4 * s[n_surf + n_near :]
    off = np.clip(np.concatenate([near, far, rng.uniform(-1, 1, (n_uni, 3))]), -1, 1)
    d, _ = tree.query(off, workers=-1)
    points_all = np.concatenate([base[:n_surf], off]).astype(np.float32)
    values = np.concatenate([np.zeros(n_surf), d]).astype(np.float32)
    return SampleSet(points_all, values)


def udf_samples(geometry_unit, cfg: FitConfig) -> SampleSet:
    """The unsigned-distance samples of a normalised Geometry: exact distances for a mesh, distances to the
    nearest input point for a point cloud."""
    g, seed = geometry_unit, cfg.train.seed
    if g.is_mesh:
        return mesh_samples(
            g.vertices, g.faces, cfg.sampling, seed=seed, distance=UnsignedDistance(g.vertices, g.faces)
        )
    return cloud_udf_samples(g.vertices, cfg.sampling, seed=seed)


@dataclass(frozen=True)
class Topology:
    """Edge counts of a triangle mesh: boundary edges (one face), non-manifold edges (three or more)."""

    edges: int
    boundary_edges: int
    non_manifold_edges: int


def mesh_topology(faces: np.ndarray) -> Topology:
    """Topology of (F, 3) faces from the number of faces on each undirected edge."""
    f = np.asarray(faces, np.int64)
    if len(f) == 0:
        return Topology(0, 0, 0)
    n = int(f.max()) + 1
    a = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    b = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    _, counts = np.unique(np.minimum(a, b) * n + np.maximum(a, b), return_counts=True)
    return Topology(len(counts), int((counts == 1).sum()), int((counts > 2).sum()))


#: A closed mesh counts as a sheet when more than this share of its area is thinner than one extraction cell.
THIN_SHARE = 0.25


def thin_share(vertices: np.ndarray, faces: np.ndarray, thickness: float, n: int = 2000, seed: int = 0) -> float:
    """Share of a closed mesh's area where a ray cast inwards from the surface leaves it again within
    `thickness` (the mesh's units): the parts thinner than that."""
    import open3d as o3d

    v, f = np.asarray(vertices, np.float64), np.asarray(faces, np.int64)
    p, nrm = sample_surface(v, f, n, np.random.default_rng(seed))
    v0, v1, v2 = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    volume = np.einsum("ij,ij->i", v0, np.cross(v1, v2)).sum() / 6.0
    inward = -nrm if volume > 0 else nrm
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(v.astype(np.float32)), o3d.core.Tensor(f.astype(np.uint32)))
    eps = 1e-4 * float(np.ptp(v, axis=0).max())
    rays = np.concatenate([p + eps * inward, inward], axis=1).astype(np.float32)
    hit = scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy()
    return float((hit + eps < thickness).mean())


def choose_target(vertices: np.ndarray, faces: np.ndarray | None, resolution: int = 256, margin: float = 0.1):
    """('udf' or 'sdf', reason): 'udf' for a mesh with boundary edges (open), one that encloses no volume
    (a sheet) or one mostly thinner than an extraction cell at `resolution`; 'sdf' otherwise and for point
    clouds (whose open parts `reconstruct --trim-far` handles)."""
    if faces is None or len(faces) == 0:
        return "sdf", "a point cloud"
    topo = mesh_topology(faces)
    if topo.boundary_edges:
        return "udf", f"the mesh is open ({topo.boundary_edges} boundary edges)"
    v = np.asarray(vertices, np.float64)
    extent = float(np.ptp(v, axis=0).max())
    dist = MeshDistance(v, faces)
    if dist.sign_method == "shell":
        return "udf", "the mesh encloses no volume (a single sheet)"
    cell = extent / (1.0 - margin) / resolution
    share = thin_share(v, faces, cell)
    if share > THIN_SHARE:
        return "udf", f"{100 * share:.0f}% of the mesh is thinner than one extraction cell"
    return "sdf", "the mesh is closed"


def resolve_target(geometry, cfg: FitConfig) -> tuple[FitConfig, str | None]:
    """cfg with target 'auto' made concrete (choose_target: 'udf' for open or sheet-like meshes, 'sdf'
    otherwise; point clouds 'sdf'), and one line saying what was chosen and why (None when the target was
    given). geometry: an io.geometry.Geometry."""
    if cfg.target != "auto":
        return cfg, None
    faces = geometry.faces if geometry.is_mesh else None
    target, why = choose_target(geometry.vertices, faces, cfg.resolution, cfg.margin)
    name = {"udf": "unsigned distance (open surface)", "sdf": "signed distance"}[target]
    return dataclasses.replace(cfg, target=target), f"target {target}: {name}, because {why}"
