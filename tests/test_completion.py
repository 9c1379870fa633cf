"""Completion beyond the code: the scan's pose, the network adapted to the points, per-vertex confidence,
and the statistical shape model baseline."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from inrview.io.surface import sample_cloud
from inrview.metrics import surface_metrics
from inrview.space.ssm import ShapeModel
from tests.space_shapes import RADII, ellipsoid, saved_small_space, train_small_space


def _chamfer(mesh, v, f) -> float:
    return surface_metrics(mesh.vertices, mesh.faces, v, f, n_samples=10_000, iou_samples=500).chamfer_l1


def _turn(angle: float, axis=(1.0, 2.0, 0.5)):
    R = Rotation.from_rotvec(np.radians(angle) * np.asarray(axis) / np.linalg.norm(axis)).as_matrix()
    return lambda x: x @ R.T + np.array([0.15, -0.1, 0.05]), R


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 4-ellipsoid space trained for 200 epochs."""
    from inrview.space import read_space

    tmp = tmp_path_factory.mktemp("completion")
    path, _ = saved_small_space(tmp, 200, 50)
    return tmp, read_space(path)


def test_shape_model_fits_a_moved_held_out_shape():
    rng = np.random.default_rng(0)
    train = [ellipsoid(rng.uniform([0.8, 0.5, 0.4], [1.2, 0.8, 0.6]))[0] for _ in range(12)]
    faces = ellipsoid((1, 1, 1))[1]
    model = ShapeModel.build(train, faces)
    v = ellipsoid((1.1, 0.55, 0.45))[0]
    move, R = _turn(20)
    pts, _ = sample_cloud(move(v), faces, 3000, seed=1)
    fit = model.fit(pts)
    err = surface_metrics(fit.vertices, faces, move(v), faces, n_samples=10_000, iou_samples=500).chamfer_l1
    mean_err = surface_metrics(move(model.mean), faces, move(v), faces, n_samples=10_000, iou_samples=500).chamfer_l1
    assert err < 0.01 and err < 0.3 * mean_err, (err, mean_err)
    assert np.degrees(np.arccos((np.trace(fit.rotation.T @ R) - 1) / 2)) < 8.0  # x-axis turns are weakly seen


def test_pose_found_and_moved_scan_completes_like_the_unmoved(trained):
    from inrview.space.pose import complete_posed_steps, posed_mesh

    _, space = trained
    v, f = ellipsoid(RADII[0], subdivisions=4)
    pts, nrm = sample_cloud(v, f, 2000, seed=2)
    half = pts[:, 0] > -0.2
    move, R = _turn(25)
    results = []
    for p, n, truth in [(pts[half], nrm[half], v), (move(pts[half]), nrm[half] @ R.T, move(v))]:
        *_, last = complete_posed_steps(space, p, n, steps=120)
        results.append((_chamfer(posed_mesh(space, last.result, 64), truth, f), last.result.novelty["pose"]))
    (unmoved, _), (moved, pose) = results
    assert moved < 0.05 and moved <= 1.5 * unmoved + 0.005, (unmoved, moved)
    assert abs(pose["angle_degrees"] - 25) < 8, pose["angle_degrees"]


def _unseen(n: int, seed: int):
    """An ellipsoid not in the test collection, (vertices, faces), and a scan of n points of it with normals."""
    v, f = ellipsoid((0.9, 0.75, 0.45), subdivisions=4)
    return (v, f, *sample_cloud(v, f, n, seed=seed))


def test_adaptation_moves_the_surface_onto_the_points(trained):
    from inrview.space.scan import complete_scan

    _, space = trained
    v, f, pts, nrm = _unseen(3000, 4)
    kw = dict(pose="none", steps=100, resolution=64, refine_steps=0)
    code_only = complete_scan(space, pts, nrm, adapt_steps=0, **kw)
    adapted = complete_scan(space, pts, nrm, adapt_steps=100, **kw)
    assert _chamfer(adapted.mesh, v, f) < 0.8 * _chamfer(code_only.mesh, v, f)


def test_dense_scan_is_refitted_from_its_own_points_and_sparse_one_is_not(trained):
    """A full scan of a shape the space never saw comes out at a single fit's accuracy, well below the
    adapted space's surface; a sparse scan keeps the space's surface and says why."""
    from inrview.space.scan import complete_scan

    _, space = trained
    v, f, pts, nrm = _unseen(5000, 4)
    kw = dict(pose="none", adapt_steps=60, steps=80, resolution=64)
    prior = complete_scan(space, pts, nrm, refine_steps=0, **kw)
    refit = complete_scan(space, pts, nrm, refine_steps=150, **kw)
    assert refit.refinement["applied"] and refit.refinement["prior_points"] < 0.1 * len(pts), refit.refinement
    a, b = _chamfer(refit.mesh, v, f), _chamfer(prior.mesh, v, f)
    assert a < 0.6 * b, (a, b)
    assert prior.refinement["reason"] == "refit turned off"
    sparse = complete_scan(space, pts[:200], nrm[:200], refine_steps=150, **kw)
    assert not sparse.refinement["applied"] and "too sparse" in sparse.refinement["reason"]


def test_half_scan_refit_takes_the_hidden_side_from_the_space(trained):
    """A half scan is refitted from its points and, where it saw nothing, from points of the space's
    surface: the result is closed and the hidden side stays where the space put it."""
    from inrview.metrics import point_to_surface
    from inrview.space.scan import complete_scan

    _, space = trained
    v, f, pts, nrm = _unseen(5000, 6)
    half = pts[:, 0] > 0
    kw = dict(pose="none", adapt_steps=60, steps=80, resolution=64)
    prior = complete_scan(space, pts[half], nrm[half], refine_steps=0, **kw)
    refit = complete_scan(space, pts[half], nrm[half], refine_steps=150, **kw)
    assert refit.refinement["applied"] and refit.refinement["prior_points"] > 500, refit.refinement
    hidden = refit.mesh.vertices[refit.mesh.vertices[:, 0] < -0.3]
    assert len(hidden) > 100
    off = point_to_surface(hidden, prior.mesh.vertices, prior.mesh.faces)
    assert np.median(off) < 0.02, np.median(off)
    seen = point_to_surface(pts[half], refit.mesh.vertices, refit.mesh.faces)
    assert seen.mean() < 0.7 * point_to_surface(pts[half], prior.mesh.vertices, prior.mesh.faces).mean()


def test_time_budget_ends_the_code_and_the_adaptation_early(trained):
    """With far more steps than the budget allows, a completion keeps its wall-clock budget: it takes at
    most the budget plus what the surface and its confidence cost (measured here in the same run), and
    still lands on the points."""
    import time

    from inrview.space.confidence import vertex_confidence
    from inrview.space.pose import posed_mesh, to_space
    from inrview.space.scan import _shares, complete_scan

    assert _shares(30.0, 0.0, 5.0, True) == pytest.approx((0.7 * 16.0, 16.0, None))  # 30 - 5 spent - 9 reserve
    assert _shares(30.0, 0.0, 40.0, False) == pytest.approx((6.0, 6.0, None))  # late: a fifth of the budget still
    assert _shares(30.0, 0.0, 5.0, True, True) == pytest.approx((11.0, 14.3, 22.0))  # 30 - 5 - 3 reserve
    _, space = trained
    v, f, pts, nrm = _unseen(3000, 4)
    budget, t0 = 3.0, time.perf_counter()
    done = complete_scan(space, pts, nrm, adapt_steps=100_000, steps=100_000, seconds=budget, resolution=64)
    took = time.perf_counter() - t0
    t1 = time.perf_counter()
    posed_mesh(space, done.result, 64)
    vertex_confidence(space, done.mesh.vertices, pts, done.result.alternatives, to_space(done.result))
    tail = time.perf_counter() - t1
    assert took < budget + 2 * tail + 0.5, (took, tail)
    assert _chamfer(done.mesh, v, f) < 0.1


def test_cli_writes_confidence_and_pose(trained, tmp_path):
    from inrview.cli import main
    from inrview.io.export import save_points

    tmp, _ = trained
    v, f = ellipsoid(RADII[1], subdivisions=4)
    pts, nrm = sample_cloud(v, f, 2000, seed=5)
    half = pts[:, 2] > 0
    scan = save_points(tmp_path / "half.ply", pts[half], nrm[half])
    out, js = tmp_path / "done.ply", tmp_path / "m.json"
    args = ["space", "complete", str(scan), "-s", str(tmp / "space.safetensors"), "-o", str(out)]
    assert main(args + ["--steps", "60", "--adapt-steps", "20", "--resolution", "48", "--metrics-json", str(js)]) == 0
    head = out.read_bytes()[:600].decode("latin-1")
    for prop in ("distance", "disagreement", "confidence"):
        assert f"property float {prop}" in head
    m = json.loads(js.read_text())
    assert set(m["pose"]) >= {"rotation", "angle_degrees", "translation", "scale"}
    c = m["confidence"]
    assert 0.2 < c["observed_fraction"] < 0.9 and c["distance_inferred_mean"] > c["distance_mean"]


def test_alignment_recovers_the_transforms_and_gives_shapes_back(tmp_path):
    from inrview.io.collection import load_collection
    from inrview.io.export import save_mesh
    from inrview.space.align import align_collection, to_file_frame

    v, f = ellipsoid((1.0, 0.6, 0.4), subdivisions=3)
    turns = [0, 20, -15, 10]
    for k, a in enumerate(turns):
        move, _ = _turn(a, axis=(0.3, 0.2, 1.0))
        save_mesh(tmp_path / f"s{k}.ply", move(v) * 10 + k, f)
    col = align_collection(load_collection(tmp_path), "rigid")
    world = [col.normalizations[i].to_world(g.vertices) for i, g in enumerate(col.shapes)]
    spread = max(float(np.linalg.norm(w - world[0], axis=1).mean()) for w in world)
    assert spread < 0.1, spread  # every shape on the template (20 across; before: 3-6 apart)
    back = to_file_frame(world[2], col.alignment, 2)
    move, _ = _turn(turns[2], axis=(0.3, 0.2, 1.0))
    assert np.abs(back - (move(v) * 10 + 2)).max() < 1e-6
    assert col.record()["alignment"]["template"] in col.names


def test_interpolation_of_an_aligned_space_is_in_the_files_frames(tmp_path):
    """A space fitted on a collection that is not aligned (one ellipsoid turned and moved far apart per
    file) gives its interpolation back in the files' frames: t = 0 on the first file, t = 1 on the last,
    and the blend between them; before, all of them sat on the template."""
    import os

    from inrview.io.collection import load_collection
    from inrview.io.export import save_mesh
    from inrview.space import read_space
    from inrview.space.align import align_collection
    from inrview.space.explore import write_interpolation

    os.environ["INRVIEW_CACHE_DIR"] = str(tmp_path / "cache")
    v, f = ellipsoid((1.0, 0.6, 0.4), subdivisions=3)
    files = []
    (tmp_path / "c").mkdir()
    for k, (a, shift) in enumerate([(0, (0, 0, 0)), (25, (6, 1, 0)), (-20, (-2, 7, 3))]):
        move, _ = _turn(a, axis=(0.3, 0.2, 1.0))
        files.append(move(v) + np.asarray(shift, float))
        save_mesh(tmp_path / "c" / f"s{k}.ply", files[-1], f)
    col = align_collection(load_collection(tmp_path / "c"), "rigid")
    fit, _ = train_small_space(col, 120, 60, shapes_per_step=3)
    fit.save(tmp_path / "s.safetensors")
    rows = write_interpolation(read_space(tmp_path / "s.safetensors"), "s0", "s2", tmp_path / "out", 3, 48)
    from inrview.io.loaders import load

    meshes = [load(r["file"]) for r in rows]
    assert _chamfer(meshes[0], files[0], f) < 0.05, _chamfer(meshes[0], files[0], f)
    assert _chamfer(meshes[-1], files[2], f) < 0.05, _chamfer(meshes[-1], files[2], f)
    middle = meshes[1].vertices.mean(axis=0)
    assert np.linalg.norm(middle - (files[0].mean(axis=0) + files[2].mean(axis=0)) / 2) < 0.3
