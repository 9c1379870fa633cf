"""Signs of the SDF training targets on the shared open meshes stay within 1% of the reference
(scripts/bench_signs.py explains each reference); single-ray parity, the old rule, is far off on the scan
and the sheet, which shows the check can tell."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import bench_signs  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,method,parity_at_least",
    [
        ("bun_zipper.ply", "winding", 0.002),
        ("blackVase_decimated.ply", "winding", 0.05),
        ("planar_mesh.ply", "shell", 0.2),
    ],
)
def test_wrong_sign_fraction_within_one_percent(name, method, parity_at_least):
    path = SHARED_DATA / "open_meshes" / name
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    r = bench_signs.measure(path, n_samples=30_000, rays=31)
    assert r["sign_method"] == method
    assert r["wrong_sign_fraction"] <= 0.01, r
    assert r["single_ray_parity_wrong"] >= parity_at_least, r
    if name == "bun_zipper.ply":
        assert abs(r["ref_scale"] - 1000) < 0.1  # the watertight bunny is the same scan in millimetres
