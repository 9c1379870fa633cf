"""Surfaces of codes: watertight and in one piece.

The field of a code is evaluated coarse to fine, the outer layer of the grid is forced outside (so a
surface that touches the cube is closed by the cube's face rather than left open), marching cubes runs,
coincident vertices are welded, and only the largest piece is kept. Each step keeps a closed surface
closed, and the result is checked.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import NoSurfaceError
from ..extract import Mesh, coarse_to_fine_grid, dense_grid, marching_cubes
from ..field import Field
from ..io.geometry import Normalization, is_watertight
from ..metrics import connected_components
from ..models.latent import CodeField, LatentDecoder
from ..recon.cleanup import drop_small_components, weld


def code_field(
    decoder: LatentDecoder, code: torch.Tensor, target: str, normalization: Normalization = Normalization()
) -> Field:
    """A Field (negative inside) of the decoder with this (D,) code."""
    dev = next(decoder.parameters()).device
    return Field(CodeField(decoder, code.to(dev)), normalization, target)


def code_mesh(
    decoder: LatentDecoder,
    code: torch.Tensor,
    target: str,
    normalization: Normalization,
    resolution: int = 64,
    world: bool = True,
) -> Mesh:
    """The zero level of one code as a watertight single-piece Mesh (vertices (V, 3) in world units of
    `normalization` unless world=False). Raises NoSurfaceError when the code describes no surface."""
    field = code_field(decoder, code, target, normalization)
    # base 32: its cells (diagonal 0.11) are about the clamp band, where the distances are trained as such
    grid = coarse_to_fine_grid(field, resolution, base=32) if resolution % 2 == 0 else dense_grid(field, resolution)
    v = np.array(grid.values, dtype=np.float32, copy=True)
    pos = max(float(np.abs(v).max()) * 1e-3, 1e-6)
    for axis in range(3):
        sl = [slice(None)] * 3
        for end in (0, -1):
            sl[axis] = end
            v[tuple(sl)] = np.maximum(v[tuple(sl)], pos)
    grid.values = v
    mesh = marching_cubes(grid)
    verts, faces = weld(mesh.vertices, mesh.faces)
    verts, faces, _ = drop_small_components(verts, faces, 1.0)
    if len(faces) == 0:
        raise NoSurfaceError("the code describes no surface")
    if world:
        verts = normalization.to_world(verts)
    return Mesh(verts, faces, "world" if world else "normalised", grid.evaluations)


def check_closed(mesh: Mesh) -> tuple[bool, int]:
    """(watertight, pieces) of a mesh."""
    return is_watertight(mesh.faces), connected_components(mesh.faces, len(mesh.vertices))
