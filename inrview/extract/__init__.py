"""From a field to a mesh (marching cubes) and to slice images.

`extract_mesh(field, resolution) -> Mesh` evaluates the field on a grid (`grid`: dense or coarse to fine)
and meshes its zero level (`mc`: VTK or scikit-image on the CPU, `mc_torch` on a GPU);
`slice_field(field, axis, offset) -> SliceImage` samples one axis-aligned plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import NoSurfaceError
from ..field import Field
from .grid import GridResult, coarse_to_fine_grid, dense_grid, grid_points, work_device
from .mc import flying_edges, skimage_marching_cubes, vtk_available
from .mc_torch import marching_cubes_torch
from .section import plane_section
from .udf import open_surface, udf_grid

__all__ = [
    "Mesh",
    "extract_mesh",
    "marching_cubes",
    "slice_field",
    "SliceImage",
    "GridResult",
    "coarse_to_fine_grid",
    "dense_grid",
    "grid_points",
    "plane_section",
]


@dataclass
class Mesh:
    """A triangle mesh: vertices (V, 3) float64, faces (F, 3) int64; `units` says which space."""

    vertices: np.ndarray
    faces: np.ndarray
    units: str = "world"
    evaluations: int = 0
    resolution: int = 0  # cells per side of the grid it was extracted from (0: not from a grid)

    def __len__(self) -> int:
        return len(self.faces)


def marching_cubes(grid: GridResult, level: float = 0.0, method: str = "auto") -> Mesh:
    """Triangulate the level set of grid values (normalised coordinates, faces oriented outward).

    method: 'vtk' (Flying Edges, threaded, zero-copy; see mc.py), 'skimage' (scikit-image's Lewiner
    marching cubes), 'torch' (mc_torch: on the grid's own device), or 'auto': 'torch' for values held
    on a GPU, else VTK when it can be imported, else scikit-image. All interpolate linearly along cell
    edges, so their vertices coincide; only ambiguous cells may be split differently.
    """
    v = grid.values
    if torch.is_tensor(v):
        finite = v[torch.isfinite(v)]
        if not (len(finite) and float(finite.min()) < level < float(finite.max())):
            raise NoSurfaceError("no surface yet: the field has no zero crossing in the volume")
        if method in ("auto", "torch"):
            method = "torch"
        else:
            v = v.cpu().numpy()
    elif not (np.nanmin(v) < level < np.nanmax(v)):
        raise NoSurfaceError("no surface yet: the field has no zero crossing in the volume")
    if method == "auto":
        method = "vtk" if vtk_available() else "skimage"
    if method == "torch":
        verts, faces = marching_cubes_torch(torch.as_tensor(v), grid.lo, grid.spacing, level)
    elif method == "vtk":
        verts, faces = flying_edges(v, grid.lo, grid.spacing, level)
    elif method == "skimage":
        verts, faces = skimage_marching_cubes(v, grid.lo, grid.spacing, level)
    else:
        raise ValueError(f"unknown marching-cubes method {method!r} (auto, vtk, skimage, torch)")
    if len(faces) == 0:
        raise NoSurfaceError("no surface yet: the field has no zero crossing in the volume")
    return Mesh(verts, faces, "normalised", grid.evaluations)


def extract_mesh(
    field: Field,
    resolution: int = 256,
    method: str = "coarse_to_fine",
    world: bool = True,
    mc: str = "auto",
    deadline: float | None = None,
) -> Mesh:
    """Marching cubes of the field's zero level at `resolution` cells per side over the unit cube.

    method: 'coarse_to_fine' (evaluate the network only near the surface; same triangles as 'dense') or
    'dense'. mc: the marching-cubes implementation (see marching_cubes). Returns vertices in world units
    (the input's) unless world=False; raises NoSurfaceError when the field does not cross zero anywhere.
    An unsigned field (target 'udf') is meshed as an open surface (see udf.open_surface; mc is ignored).
    deadline: a time.perf_counter() time to finish by (coarse to fine only): the resolution is then lowered
    as the measured evaluation rate requires (see coarse_to_fine_grid); `Mesh.resolution` says what it was.
    """
    if method not in ("coarse_to_fine", "dense"):
        raise ValueError(f"unknown extraction method {method!r} (coarse_to_fine, dense)")
    # on a GPU the grid stays there and is meshed there (mc_torch), unless a CPU mesher is asked for
    on_device = mc in ("auto", "torch") and work_device(field).type == "cuda"
    if getattr(field, "target", None) == "udf":
        grid = udf_grid(field, resolution, on_device, dense=method == "dense", deadline=deadline)
        mesh = Mesh(*open_surface(field, grid), "normalised")
    else:
        grid = (
            coarse_to_fine_grid(field, resolution, on_device=on_device, deadline=deadline)
            if method == "coarse_to_fine"
            else dense_grid(field, resolution, on_device=on_device)
        )
        mesh = marching_cubes(grid, method=mc)
    mesh.evaluations, mesh.resolution = grid.evaluations, grid.resolution
    if world:
        mesh.vertices = field.normalization.to_world(mesh.vertices)
        mesh.units = "world"
    return mesh


@dataclass
class SliceImage:
    """Field values on an axis-aligned plane.

    values: (H, W) float32 (world units for distance fields); axis: 0/1/2 for the plane's normal;
    offset: the plane's position along that axis (world units); extent: (u_min, u_max, v_min, v_max) of
    the two in-plane axes (in ascending axis order) in world units; unsigned: the values are an unsigned
    distance (>= 0: one colour map from 0; the zero set is traced from the open surface with plane_section,
    not as a contour of the values).
    """

    values: np.ndarray
    axis: int
    offset: float
    extent: tuple[float, float, float, float]
    unsigned: bool = False


def slice_field(field: Field, axis: int, offset: float, resolution: int = 128, world: bool = True) -> SliceImage:
    """Evaluate the field on the plane {x[axis] = offset}, covering the unit cube's cross-section.

    offset is in world units when world=True, else in normalised units ([-1, 1])."""
    if axis not in (0, 1, 2):
        raise ValueError("axis must be 0 (x), 1 (y) or 2 (z)")
    norm = field.normalization
    off_unit = (offset - norm.center[axis]) * norm.scale if world else offset
    t = np.linspace(-1, 1, resolution, dtype=np.float32)
    u, v = np.meshgrid(t, t, indexing="xy")  # rows follow the second in-plane axis
    pts = np.zeros((resolution * resolution, 3), np.float32)
    others = [a for a in range(3) if a != axis]
    pts[:, others[0]], pts[:, others[1]], pts[:, axis] = u.ravel(), v.ravel(), off_unit
    vals = field.evaluate_unit(pts).reshape(resolution, resolution)
    if field.is_distance and world:
        vals = vals / norm.scale
    lo = norm.to_world(np.full(3, -1.0)) if world else np.full(3, -1.0)
    hi = norm.to_world(np.full(3, 1.0)) if world else np.full(3, 1.0)
    ext = (float(lo[others[0]]), float(hi[others[0]]), float(lo[others[1]]), float(hi[others[1]]))
    return SliceImage(vals.astype(np.float32), axis, float(offset), ext, getattr(field, "target", None) == "udf")
