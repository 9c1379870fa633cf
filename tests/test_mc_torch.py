"""Marching cubes in PyTorch (the GPU's mesher): its derived triangle table gives closed, outward, consistently
wound surfaces, and the same vertices and triangle counts as scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from inrview.extract import dense_grid, marching_cubes
from inrview.extract.mc_torch import TRI_COUNT, marching_cubes_torch
from inrview.field import Field
from tests.test_extract_speed import Analytic


def directed_edges_close(faces: np.ndarray) -> bool:
    """Every directed edge appears once and its reverse once: closed, consistently oriented, manifold."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    fwd = {tuple(x) for x in e.tolist()}
    return len(fwd) == len(e) and all((b, a) in fwd for a, b in fwd)


def signed_volume(v: np.ndarray, f: np.ndarray) -> float:
    return float(np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum() / 6)


def test_table_covers_every_case():
    assert TRI_COUNT[0] == 0 and TRI_COUNT[255] == 0
    assert (TRI_COUNT[1:255] >= 1).all() and TRI_COUNT.max() <= 5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_fields_give_closed_consistently_wound_surfaces(seed):
    """Noise puts every ambiguous face configuration in play; a positive border closes the level set."""
    rng = np.random.default_rng(seed)
    v = np.ones((26, 26, 26), np.float32)
    v[1:-1, 1:-1, 1:-1] = rng.normal(size=(24, 24, 24))
    verts, faces = marching_cubes_torch(torch.from_numpy(v), 0.0, 1.0)
    assert len(faces) > 1000
    assert directed_edges_close(faces)


@pytest.mark.parametrize("kind,res", [("sphere", 96), ("torus", 128), ("plate", 128)])
def test_same_vertices_and_counts_as_scikit_image(kind, res):
    g = dense_grid(Field(Analytic(kind)), res)
    v, f = marching_cubes_torch(torch.from_numpy(g.values), g.lo, g.spacing)
    ref = marching_cubes(g, method="skimage")
    assert len(f) == len(ref.faces) and len(v) == len(ref.vertices)
    assert cKDTree(ref.vertices).query(v)[0].max() < 1e-6
    assert directed_edges_close(f)
    assert signed_volume(v, f) == pytest.approx(signed_volume(ref.vertices, ref.faces), rel=1e-4)
    assert signed_volume(v, f) > 0  # outward: towards increasing values


def test_torch_method_through_marching_cubes_and_exact_zeros():
    g = dense_grid(Field(Analytic("sphere")), 64)
    g.values[10:20, 30, 30] = 0.0  # exact zeros count as outside, no degenerate triangles
    m = marching_cubes(g, method="torch")
    a, b, c = (m.vertices[m.faces[:, i]] for i in range(3))
    assert (np.linalg.norm(np.cross(b - a, c - a), axis=1) > 0).all()
    ref = marching_cubes(g, method="skimage")
    assert signed_volume(m.vertices, m.faces) == pytest.approx(signed_volume(ref.vertices, ref.faces), rel=1e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_extraction_on_cuda_meshes_on_the_device_and_matches_the_cpu():
    from inrview.extract import extract_mesh

    f_gpu, f_cpu = Field(Analytic("torus").cuda()), Field(Analytic("torus"))
    a, b = extract_mesh(f_gpu, 256, world=False), extract_mesh(f_cpu, 256, world=False, mc="skimage")
    assert len(a.faces) == len(b.faces)
    assert cKDTree(b.vertices).query(a.vertices)[0].max() < 1e-4
    assert directed_edges_close(a.faces)
