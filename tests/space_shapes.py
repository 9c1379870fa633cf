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


def small_sampling():
    """The space's default mix of samples in a small pool (6000 per shape) that trains a tiny space in
    seconds."""
    import dataclasses

    from inrview.config.space import SPACE_SAMPLING

    return dataclasses.replace(SPACE_SAMPLING, n_samples=6000)


def train_small_space(collection, epochs: int, report_every: int, shapes_per_step: int = 4, kind: str = "grid"):
    """A SpaceFit of `collection` (a folder or a loaded collection) with codes of 8 and a 64-wide decoder of
    the family `kind` on the small pool, trained for `epochs` (one process, CPU); (the fit, its snapshots)."""
    from inrview.config.space import LatentConfig, SpaceTrainConfig
    from inrview.space import SpaceFit

    fit = SpaceFit(
        collection,
        SpaceTrainConfig(epochs=epochs, shapes_per_step=shapes_per_step, device="cpu"),
        LatentConfig(kind=kind, latent_dim=8, width=64, depth=2),
        sampling=small_sampling(),
    )
    return fit, list(fit.run(report_every=report_every))


def saved_small_space(folder: Path, epochs: int, report_every: int) -> tuple[Path, list]:
    """The RADII ellipsoids written to folder/shapes, a small space trained on them (train_small_space; their
    samples cached under folder/cache, which INRVIEW_CACHE_DIR names from then on) and saved to
    folder/space.safetensors: (that path, the snapshots)."""
    import os

    os.environ["INRVIEW_CACHE_DIR"] = str(folder / "cache")
    write_collection(folder / "shapes", RADII)
    fit, snaps = train_small_space(folder / "shapes", epochs, report_every)
    fit.save(folder / "space.safetensors")
    return folder / "space.safetensors", snaps
