"""Fast-path guards for extraction: coarse to fine evaluates a small fraction of the dense grid and gives
the same triangles; Flying Edges and scikit-image agree; no fixed times anywhere."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from inrview.errors import NoSurfaceError
from inrview.extract import coarse_to_fine_grid, dense_grid, extract_mesh, marching_cubes, mc
from inrview.field import Field


class Analytic(torch.nn.Module):
    """Exact distance fields as 'networks' (no training noise)."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # gives the Field a device to follow

    def forward(self, x):
        if self.kind == "sphere":
            d = (x - torch.tensor([0.05, -0.1, 0.02], device=x.device)).norm(dim=-1) - 0.55
        elif self.kind == "torus":
            q = torch.stack([x[:, [0, 1]].norm(dim=-1) - 0.5, x[:, 2]], dim=-1)
            d = q.norm(dim=-1) - 0.15
        elif self.kind == "plate":  # 0.012 thick: thinner than a cell of the 32^3 start grid
            d = torch.maximum((x[:, 2] - 0.013).abs() - 0.006, (x[:, :2].abs() - 0.6).amax(dim=-1))
        else:
            raise ValueError(self.kind)
        return d[:, None]


def same_triangles(a, b) -> bool:
    return (
        a.faces.shape == b.faces.shape
        and np.array_equal(a.faces, b.faces)
        and np.abs(a.vertices - b.vertices).max() < 1e-6
    )


@pytest.mark.parametrize("kind", ["sphere", "torus", "plate"])
def test_coarse_to_fine_equals_dense_on_exact_fields(kind):
    f = Field(Analytic(kind))
    fine, dense = coarse_to_fine_grid(f, 128), dense_grid(f, 128)
    assert same_triangles(marching_cubes(fine), marching_cubes(dense))
    assert fine.evaluations < dense.evaluations / 4


def test_coarse_to_fine_256_needs_a_tenth_of_the_evaluations():
    f = Field(Analytic("torus"))
    fine = coarse_to_fine_grid(f, 256)
    assert fine.evaluations * 10 <= 257**3
    assert fine.values.shape == (257, 257, 257) and fine.values.flags.c_contiguous


def test_occupancy_fields_use_a_halo_and_match_dense():
    f = Field(Analytic("torus"), target="occupancy")  # the negated output: a logit-like field, no distance
    assert not f.is_distance
    fine, dense = coarse_to_fine_grid(f, 128), dense_grid(f, 128)
    assert same_triangles(marching_cubes(fine), marching_cubes(dense))
    assert fine.evaluations < dense.evaluations / 3


def test_odd_resolutions_and_small_grids():
    f = Field(Analytic("sphere"))
    for res in (20, 100, 96):
        a, b = coarse_to_fine_grid(f, res), dense_grid(f, res)
        assert same_triangles(marching_cubes(a), marching_cubes(b))
    with pytest.raises(NoSurfaceError):
        extract_mesh(Field(_Const()), 64)


class _Const(torch.nn.Module):
    def forward(self, x):
        return torch.ones(len(x), 1)


@pytest.mark.skipif(not mc.vtk_available(), reason="vtk not installed")
def test_flying_edges_agrees_with_scikit_image_and_faces_outward():
    g = dense_grid(Field(Analytic("torus")), 64)
    a, b = marching_cubes(g, method="vtk"), marching_cubes(g, method="skimage")
    # both interpolate along the same edges: the same vertices, in another order
    va = a.vertices[np.lexsort(a.vertices.T)]
    vb = b.vertices[np.lexsort(b.vertices.T)]
    assert va.shape == vb.shape and np.abs(va - vb).max() < 1e-6
    for m in (a, b):
        tm = trimesh.Trimesh(m.vertices, m.faces, process=True)
        assert tm.is_watertight and tm.volume > 0
        assert tm.volume == pytest.approx(2 * np.pi**2 * 0.5 * 0.15**2, rel=0.02)


@pytest.mark.skipif(not mc.vtk_available(), reason="vtk not installed")
def test_flying_edges_handles_exact_zeros_and_non_contiguous_input():
    t = np.linspace(-1, 1, 33)
    x, y, z = np.meshgrid(t, t, t, indexing="ij")
    v = (np.maximum(np.abs(x), np.maximum(np.abs(y), np.abs(z))) - 0.5).astype(np.float32)  # zeros on the grid
    verts, faces = mc.flying_edges(v, -1.0, 2 / 32)
    tm = trimesh.Trimesh(verts, faces, process=True)
    sk = trimesh.Trimesh(*mc.skimage_marching_cubes(v, -1.0, 2 / 32), process=True)
    # zeros count as outside here; scikit-image puts the surface through them: well within a voxel
    assert tm.is_watertight and tm.volume == pytest.approx(sk.volume, rel=0.03)
    verts2, faces2 = mc.flying_edges(np.asfortranarray(v), -1.0, 2 / 32)
    assert np.array_equal(faces, faces2) and np.array_equal(verts, verts2)


def test_scikit_image_fallback_when_vtk_is_missing(monkeypatch):
    g = dense_grid(Field(Analytic("sphere")), 48)
    monkeypatch.setattr(mc, "_VTK", False)
    m = marching_cubes(g)
    tm = trimesh.Trimesh(m.vertices, m.faces, process=True)
    assert tm.is_watertight and tm.volume > 0


def test_trained_grid_model_coarse_to_fine_matches_dense(demo_shape):
    """A real, briefly trained network (not exactly 1-Lipschitz): still the same triangles. lr 1e-2 makes
    a field that has left zero after 50 small steps (at the default 2e-3 it is all still near zero,
    where coarse to fine rightly evaluates everything)."""
    from inrview.config import FitConfig, SamplingConfig, TrainConfig
    from inrview.shape import ShapeSession

    cfg = FitConfig(sampling=SamplingConfig(n_samples=40_000), train=TrainConfig(steps=50, batch_size=4096, lr=1e-2))
    s = ShapeSession.from_file(demo_shape, cfg)
    for _ in s.run(report_every=25):
        pass
    fine, dense = coarse_to_fine_grid(s.field, 96), dense_grid(s.field, 96)
    assert same_triangles(marching_cubes(fine), marching_cubes(dense))
    assert fine.evaluations * 1.5 <= dense.evaluations  # an early field: a thick band is still near zero


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_coarse_to_fine_on_cuda_matches_cpu():
    f_cpu = Field(Analytic("torus"))
    f_gpu = Field(Analytic("torus").cuda())
    a, b = coarse_to_fine_grid(f_cpu, 256), coarse_to_fine_grid(f_gpu, 256)
    assert a.evaluations == b.evaluations
    ma, mb = marching_cubes(a), marching_cubes(b)
    assert ma.faces.shape == mb.faces.shape and np.abs(ma.vertices - mb.vertices).max() < 1e-4


def test_device_upsampling_matches_the_cpu_slab_loop():
    """The GPU's repeat-based upsampling (run here on the CPU) equals the slab loop, value for value."""
    from inrview.extract.grid import _upsample_nearest, _upsample_repeat

    v = torch.randn(17, 17, 17)
    a, b = _upsample_nearest(v), _upsample_repeat(v)
    assert a.shape == b.shape == (33, 33, 33) and torch.equal(a, b)


def test_evaluate_device_equals_evaluate_unit_tensor():
    f = Field(Analytic("torus"))
    x = torch.rand(5000, 3) * 2 - 1
    assert torch.equal(f.evaluate_device(x), f.evaluate_unit_tensor(x))
