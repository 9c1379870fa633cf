"""Live measures: Chamfer-L1, normal consistency and IoU on a fixed subsample, the best weights by them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from inrview.config import FitConfig, SamplingConfig, TrainConfig
from inrview.field import Field
from inrview.io.geometry import Geometry
from inrview.metrics.live import LiveMeasures
from inrview.shape import ShapeSession, load_field


class Sphere(torch.nn.Module):
    """The exact signed distance of a sphere of radius r at the origin."""

    def __init__(self, r: float):
        super().__init__()
        self.r = r

    def forward(self, x):
        return x.norm(dim=-1, keepdim=True) - self.r


@pytest.fixture(scope="module")
def sphere_unit() -> Geometry:
    m = trimesh.creation.icosphere(subdivisions=5, radius=0.8)
    return Geometry(np.asarray(m.vertices), np.asarray(m.faces))


def test_live_measures_of_the_exact_field_and_of_a_larger_sphere(sphere_unit):
    live = LiveMeasures(sphere_unit, seed=0)
    exact = live.measure(Field(Sphere(0.8)))
    assert exact["chamfer_l1"] < 3e-3  # a 64^3 extraction of the exact field (normalised units)
    assert exact["normal_consistency"] > 0.99
    assert exact["iou"] > 0.98
    # 0.05 larger in the sphere's units: 0.05 * 2 / 1.6 = 0.0625 normalised units both ways
    bigger = live.measure(Field(Sphere(0.85)))
    assert bigger["chamfer_l1"] == pytest.approx(0.0625, rel=0.1)
    assert bigger["iou"] == pytest.approx((0.8 / 0.85) ** 3, abs=0.03)
    # handed a surface, it measures that one: the input itself is at distance ~0
    own = live.measure(Field(Sphere(0.85)), sphere_unit.vertices, sphere_unit.faces)
    assert own["chamfer_l1"] < 1e-6 and own["normal_consistency"] > 0.999


def test_no_surface_gives_only_the_iou(sphere_unit):
    out = LiveMeasures(sphere_unit).measure(Field(Sphere(5.0)))  # all inside the domain
    # all of [-1, 1]^3 inside: IoU is the sphere's share of the domain
    assert set(out) == {"iou"} and out["iou"] == pytest.approx(4 / 3 * np.pi * 0.8**3 / 8, abs=0.02)


def test_session_previews_carry_measures_and_keep_the_best(demo_shape, tmp_path):
    cfg = FitConfig(sampling=SamplingConfig(n_samples=20_000), train=TrainConfig(steps=80, threads=1))
    s = ShapeSession.from_file(demo_shape, cfg)
    s.live.fraction = None  # every preview (the default spaces them by their cost)
    previews = [snap.preview for snap in s.run(report_every=10, preview_interval=0.0, measures=True) if snap.preview]
    assert all("measures" in p for p in previews)
    curve = [h["chamfer_l1"] for h in s.live.history if "chamfer_l1" in h]
    assert len(curve) >= 3 and curve[-1] < curve[0]
    assert s.best.measures["chamfer_l1"] == pytest.approx(min(curve))
    path = s.save_checkpoint(tmp_path / "best.safetensors", best=True)
    field, header = load_field(path)
    assert header["best"] is True and header["trainer"]["step"] == s.best.step
    again = s.live.measures.measure(field)
    assert again["chamfer_l1"] == pytest.approx(s.best.measures["chamfer_l1"], rel=1e-6)
