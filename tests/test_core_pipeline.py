"""Core tier: normalisation, signs, models, a real short fit, checkpoints, extraction, metrics."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import trimesh

import inrview
from inrview.config import FitConfig, GridEncoding, ModelConfig, SamplingConfig, TrainConfig, model_config
from inrview.errors import NoSurfaceError
from inrview.extract import coarse_to_fine_grid, dense_grid, extract_mesh, marching_cubes, slice_field
from inrview.field import Field
from inrview.io.geometry import Normalization, is_watertight, report
from inrview.metrics import surface_metrics
from inrview.models import build_model
from inrview.sampling import MeshDistance, mesh_samples


class SphereSDF(torch.nn.Module):
    """An exact SDF as a 'network', to test extraction without training noise."""

    def __init__(self, r=0.5, c=(0.0, 0.0, 0.0)):
        super().__init__()
        self.r = r
        self.register_buffer("c", torch.tensor(c))

    def forward(self, x):
        return (x - self.c).norm(dim=-1, keepdim=True) - self.r


def open_box() -> trimesh.Trimesh:
    """A unit cube with its top face removed: open, so parity tests fail on it."""
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    keep = box.face_normals[:, 2] < 0.5
    return trimesh.Trimesh(box.vertices, box.faces[keep], process=False)


def test_normalisation_round_trip_float64():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(500, 3)) * [3.0, 0.2, 7.0] + [1e4, -2e3, 5.0]
    n = Normalization.fit(pts, margin=0.1)
    u = n.to_unit(pts)
    assert np.abs(u).max() <= 0.9 + 1e-12
    assert math.isclose(np.ptp(u, axis=0).max(), 1.8, rel_tol=1e-12)
    assert np.abs(n.to_world(u) - pts).max() < 1e-9
    assert Normalization.from_dict(n.to_dict()) == n


def test_sphere_signs_and_distances():
    s = trimesh.creation.icosphere(subdivisions=5, radius=0.5)
    d = MeshDistance(s.vertices, s.faces)
    assert d.watertight and d.sign_method == "parity"
    rng = np.random.default_rng(0)
    q = rng.uniform(-1, 1, (20000, 3))
    sdf = d.signed(q)
    exact = np.linalg.norm(q, axis=1) - 0.5
    assert np.all(np.sign(sdf[np.abs(exact) > 0.01]) == np.sign(exact[np.abs(exact) > 0.01]))
    assert np.abs(sdf - exact).max() < 2e-3  # tessellation error of the icosphere


def test_open_box_signs_use_winding_number():
    box = open_box()
    assert not is_watertight(box.faces)
    d = MeshDistance(box.vertices, box.faces)
    assert d.sign_method == "winding"
    rng = np.random.default_rng(0)
    inside = rng.uniform(-0.4, 0.4, (5000, 3))
    inside[:, 2] = rng.uniform(-0.4, 0.2, 5000)  # stay below the open top
    outside = rng.uniform(-1, 1, (20000, 3))
    outside = outside[np.abs(outside).max(axis=1) > 0.6]
    assert (d.signed(inside) < 0).mean() > 0.99
    assert (d.signed(outside) > 0).mean() > 0.99


def test_mesh_samples_proportions_and_signs(demo_shape):
    g = inrview.load(demo_shape)
    n = Normalization.fit(g.vertices)
    u = n.to_unit(g.vertices)
    cfg = SamplingConfig(n_samples=20000, mix=(0.25, 0.25, 0.25, 0.25))
    s = mesh_samples(u, g.faces, cfg, seed=3)
    assert len(s) == 20000 and s.points.dtype == np.float32
    assert (s.sdf == 0).sum() == 5000
    corners = np.abs(s.points).max(axis=1) > 0.95  # near the cube's corners: far outside the cow
    assert (s.sdf[corners] > 0).all()
    d = MeshDistance(u, g.faces)
    assert np.abs(d.signed(s.points[5000:6000]) - s.sdf[5000:6000]).max() < 1e-5
    occ = s.occupancy
    assert set(np.unique(occ)) <= {0.0, 0.5, 1.0}


@pytest.mark.parametrize("kind", ["grid", "siren", "relu", "fourier"])
@pytest.mark.parametrize("in_dim,out_dim", [(3, 1), (2, 3)])
def test_every_model_builds_and_runs(kind, in_dim, out_dim):
    m = build_model(model_config(kind, width=32, depth=2), in_dim, out_dim, seed=0)
    y = m(torch.rand(64, in_dim) * 2 - 1)
    assert y.shape == (64, out_dim) and torch.isfinite(y).all()
    m2 = build_model(model_config(kind, width=32, depth=2), in_dim, out_dim, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), m2.state_dict().values()))


def test_siren_initialisation_bounds():
    m = build_model(ModelConfig(kind="siren", width=128, depth=3, omega0=30.0), 2, 1)
    first = m.net.body[0].linear.weight
    hidden = m.net.body[1].linear.weight
    assert first.abs().max() <= 1 / 2 + 1e-6 and first.abs().max() > 0.4  # U(-1/n, 1/n), n = 2
    bound = math.sqrt(6 / 128) / 30
    assert hidden.abs().max() <= bound + 1e-7 and hidden.abs().max() > 0.9 * bound
    # activations keep a stable spread through depth (SIREN, Sec. 3.2)
    h = torch.rand(4096, 2) * 2 - 1
    for layer in m.net.body:
        h = layer(h)
    assert 0.4 < h.std().item() < 0.9


def test_geometric_init_starts_as_a_sphere():
    m = build_model(ModelConfig(kind="relu", width=128, depth=4, geometric_init=True, activation="softplus"), 3, 1)
    dirs = torch.nn.functional.normalize(torch.randn(1000, 3), dim=-1)
    with torch.no_grad():
        at_r = m(dirs * 0.5).squeeze(-1)
        centre = m(torch.zeros(1, 3)).item()
    assert at_r.abs().mean() < 0.05
    assert centre < -0.3


def test_grid_levels_hash_beyond_budget():
    m = build_model(
        ModelConfig(kind="grid", grid=GridEncoding(levels=4, base_resolution=8, max_resolution=64, max_entries=20000)),
        3,
        1,
    )
    kinds = [k for k, _ in m.encoding.kinds]
    assert kinds[0] == "dense" and kinds[-1] == "hash"
    x = (torch.rand(256, 3) * 2 - 1).requires_grad_(True)
    m(x).sum().backward()
    assert all(p.grad is not None for p in m.encoding.parameters())


def test_extraction_of_an_exact_sphere_and_slices():
    f = Field(SphereSDF(0.5), Normalization(center=(10.0, 0.0, 0.0), scale=2.0))
    mesh = extract_mesh(f, 64, method="dense")
    r = np.linalg.norm(mesh.vertices - [10.0, 0, 0], axis=1)
    assert np.abs(r - 0.25).max() < 2e-3  # world radius 0.5 / scale 2
    tm = trimesh.Trimesh(mesh.vertices, mesh.faces, process=True)
    assert tm.is_watertight and tm.volume > 0  # outward-facing
    fine = coarse_to_fine_grid(f, 128)
    dense = dense_grid(f, 128)
    assert fine.evaluations < dense.evaluations / 3
    m1, m2 = marching_cubes(fine), marching_cubes(dense)
    assert m1.faces.shape == m2.faces.shape and np.abs(m1.vertices - m2.vertices).max() < 1e-5
    sl = slice_field(f, 2, 0.0, resolution=65)
    assert sl.values.shape == (65, 65)
    assert sl.values[32, 32] == pytest.approx(-0.25, abs=1e-6)  # centre of the sphere, world units
    assert sl.values[0, 0] > 0
    with pytest.raises(NoSurfaceError):
        extract_mesh(Field(SphereSDF(5.0)), 32)


def test_metrics_identity_and_shift():
    s = trimesh.creation.icosphere(subdivisions=4, radius=1.0)
    same = surface_metrics(s.vertices, s.faces, s.vertices, s.faces, n_samples=20000, iou_samples=50000)
    assert same.chamfer_l1 < 1e-6 and same.f_score == 1.0 and same.iou > 0.999 and same.normal_consistency > 0.999
    shifted = surface_metrics(s.vertices * 1.01, s.faces, s.vertices, s.faces, n_samples=20000, iou_samples=50000)
    assert shifted.chamfer_l1 == pytest.approx(0.01, rel=0.05)  # radius 1 -> longest side 2: units agree
    assert shifted.iou == pytest.approx(1 / 1.01**3, abs=0.01)


def test_short_real_fit_reaches_quality(demo_shape, tmp_path):
    cfg = FitConfig(sampling=SamplingConfig(n_samples=200_000), train=TrainConfig(steps=150, seed=0), resolution=128)
    out = tmp_path / "spot.ply"
    r = inrview.fit(demo_shape, cfg, output=out)
    assert r.last.step == 150
    assert r.metrics.chamfer_l1 < 2.5e-3, r.metrics.summary()
    assert r.metrics.iou > 0.95 and r.metrics.f_score > 0.95
    back = inrview.load(out)  # exported in input units
    src = inrview.load(demo_shape)
    assert np.abs(back.bounds - src.bounds).max() < 0.02 * np.ptp(src.vertices, axis=0).max()


def test_occupancy_target_learns_inside(demo_shape):
    cfg = FitConfig(
        target="occupancy",
        model=ModelConfig(grid=GridEncoding(max_resolution=64, levels=4)),
        sampling=SamplingConfig(n_samples=50_000),
        train=TrainConfig(steps=80),
        resolution=64,
    )
    r = inrview.fit(demo_shape, cfg, measure=True)
    assert r.metrics.iou > 0.9, r.metrics.summary()


def test_checkpoint_resume_is_exact(demo_shape, tmp_path):
    cfg = FitConfig(
        model=ModelConfig(grid=GridEncoding(max_resolution=32, levels=3)),
        sampling=SamplingConfig(n_samples=20000),
        train=TrainConfig(steps=20, seed=5),
    )
    a = inrview.ShapeSession.from_file(demo_shape, cfg)
    a.trainer.train()
    b = inrview.ShapeSession.from_file(demo_shape, cfg)
    b.trainer.train(max_steps=10)
    ck = tmp_path / "half.safetensors"
    b.save_checkpoint(ck)
    c = inrview.resume_session(ck)
    assert c.trainer.state.step == 10
    c.trainer.train()
    assert c.trainer.state.step == 20
    for (k, va), vc in zip(a.model.state_dict().items(), c.model.state_dict().values()):
        assert torch.allclose(va, vc, atol=1e-6), k
    field, header = inrview.load_field(ck)
    assert header["normalization"] == a.normalization.to_dict()


def test_non_finite_loss_restores_last_good_weights(demo_shape):
    cfg = FitConfig(
        model=ModelConfig(grid=GridEncoding(max_resolution=32, levels=3)),
        sampling=SamplingConfig(n_samples=20000),
        train=TrainConfig(steps=400),
    )
    s = inrview.ShapeSession.from_file(demo_shape, cfg)
    s.trainer.train(max_steps=120)
    good = {k: v.clone() for k, v in s.model.state_dict().items()}
    s.task.values[:] = float("nan")
    last = s.trainer.train()
    assert last.done and "non-finite" in last.message and "restored" in last.message
    assert last.step == 100  # the last remembered step
    assert all(torch.isfinite(v).all() for v in s.model.state_dict().values())
    assert not all(torch.equal(good[k], v) for k, v in s.model.state_dict().items())  # step 100, not 120


def test_load_report(demo_shape):
    rep = report(inrview.load(demo_shape))
    assert rep.kind == "mesh" and rep.vertices == 2930 and rep.faces == 5856 and rep.watertight is True
    assert "watertight:  yes" in str(rep)


def test_core_import_and_fit_load_no_qt(demo_shape):
    code = (
        "import sys, inrview\n"
        "from inrview.config import *\n"
        "model = ModelConfig(grid=GridEncoding(max_resolution=32, levels=3))\n"
        f"r = inrview.fit(r'{demo_shape}', FitConfig(model=model, "
        "sampling=SamplingConfig(n_samples=20000), train=TrainConfig(steps=60), resolution=32), measure=False)\n"
        "bad = [m for m in sys.modules\n"
        "       if m.split('.')[0] in ('PyQt6', 'PyQt5', 'PySide6', 'pyvista', 'pyvistaqt', 'pyqtgraph')]\n"
        "print('QT', bad)\n"
        "assert not bad, bad\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "QT []" in out.stdout
