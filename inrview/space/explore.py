"""Exploring a space: meshes along the line between two codes, and what the codes vary along."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..extract import Mesh
from ..io.export import save_mesh
from .align import between_file_frames
from .mesh import check_closed
from .model import Space


def interpolate(space: Space, a: str | int, b: str | int, steps: int = 5, resolution: int = 128):
    """Meshes of the codes (1 - t) z_a + t z_b for t in linspace(0, 1, steps); each is watertight and one
    piece (checked). Returns a list of (t, Mesh, watertight, pieces). For per-shape spaces the meshes are
    in the normalised frame; for joint ones in the collection's units. A space fitted on an aligned
    collection (either kind) gives them back in the files' own frames: a's at t = 0, b's at t = 1, a blend
    between."""
    za, zb = space.code(a), space.code(b)
    alignment = space.header.get("normalisation", {}).get("alignment")
    out = []
    for t in np.linspace(0.0, 1.0, max(2, int(steps))):
        mesh = space.decode((1 - t) * za + t * zb, resolution)
        if alignment is not None:
            mesh = Mesh(_aligned_world(space, mesh.vertices, alignment, a, b, float(t)), mesh.faces)
        closed, pieces = check_closed(mesh)
        out.append((float(t), mesh, closed, pieces))
    return out


def _aligned_world(space: Space, vertices: np.ndarray, alignment: dict, a, b, t: float) -> np.ndarray:
    """A morph's vertices (decoded in the template's frame; normalised for per-shape spaces, where the two
    shapes' normalisations are blended) in the frame between the files of a and b."""
    ia, ib = space.index(a), space.index(b)
    if space.normalise != "joint":
        na, nb = space.world_normalization(ia), space.world_normalization(ib)
        vertices = (1 - t) * na.to_world(vertices) + t * nb.to_world(vertices)
    return between_file_frames(vertices, alignment, ia, ib, t)


def write_interpolation(
    space: Space, a: str | int, b: str | int, folder: str | os.PathLike, steps: int = 5, resolution: int = 128
) -> list[dict]:
    """interpolate() written as folder/NNN_t0.250.ply; returns one row per mesh (file, t, faces, watertight,
    pieces)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, (t, mesh, closed, pieces) in enumerate(interpolate(space, a, b, steps, resolution)):
        path = folder / f"{k:03d}_t{t:.3f}.ply"
        save_mesh(path, mesh.vertices, mesh.faces)
        rows.append({"file": str(path), "t": t, "faces": int(len(mesh.faces)), "watertight": closed, "pieces": pieces})
    return rows


def principal_directions(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA of codes (N, D): (mean (D,), directions (K, D) unit rows, variance share (K,)), K = min(N, D)."""
    c = np.asarray(codes, np.float64)
    mean = c.mean(axis=0)
    _, s, vt = np.linalg.svd(c - mean, full_matrices=False)
    var = s**2
    share = var / var.sum() if var.sum() > 0 else np.zeros_like(var)
    return mean, vt, share


def info(space: Space, components: int = 5) -> dict:
    """A summary: shapes with their training error and surface residual, network, target, normalisation,
    training counters, and the leading principal directions of the codes with their variance shares."""
    rec = space.header
    _, _, share = principal_directions(space.codes.numpy())
    return {
        "shapes": [
            {"name": n, "training_error": e, "surface_residual": r}
            for n, e, r in zip(space.names, rec["shape_error"], rec["surface_residual"])
        ],
        "target": space.target,
        "normalise": space.normalise,
        "network": rec["network"],
        "latent_dim": space.latent_dim,
        "trainer": rec["trainer"],
        "variance_share": [float(s) for s in share[:components]],
        "variance_cumulative": [float(s) for s in np.cumsum(share)[:components]],
    }
