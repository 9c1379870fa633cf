"""Tiny synthetic collections for the shape-space tests: ellipsoids and boxes written as PLY files."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def ellipsoid(radii, center=(0.0, 0.0, 0.0), subdivisions: int = 3):
    """(V, 3) vertices and (F, 3) faces of an ellipsoid (a scaled icosphere)."""
    import trimesh

    m = trimesh.creation.icosphere(subdivisions=subdivisions)
    return m.vertices * np.asarray(radii) + np.asarray(center), m.faces


def write_collection(folder: Path, radii_list, kind: str = "ellipsoid") -> list[Path]:
    """Write one mesh per radii triple into folder; returns the paths."""
    import trimesh

    from inrview.io.export import save_mesh

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, r in enumerate(radii_list):
        if kind == "box":
            m = trimesh.creation.box(extents=2 * np.asarray(r))
            v, f = m.vertices, m.faces
        else:
            v, f = ellipsoid(r)
        paths.append(save_mesh(folder / f"shape{k}.ply", v, f))
    return paths


RADII = [(1.0, 0.6, 0.5), (0.6, 1.0, 0.5), (0.8, 0.8, 0.8), (1.0, 0.5, 0.9)]
