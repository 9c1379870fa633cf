"""Point clouds in the real window: normals (estimated and oriented, from the file, none), their glyphs,
training, Compare with Poisson side by side with the measures of both surfaces, a reference mesh, the
Poisson export, and bad input that leaves everything as it was.

One window serves the tests of this module in order, on clouds sampled from the bundled Spot mesh.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

pytestmark = pytest.mark.gui

N_POINTS = 5000


def surface_pixels(px: np.ndarray) -> np.ndarray:
    """Warm surface colours (gold or sage) over the blue-grey background (where blue exceeds red)."""
    r, g, b = (px[..., i].astype(int) for i in range(3))
    return (r > b + 25) & (g > b + 5) & (r > 60)


@pytest.fixture(scope="module")
def clouds(app_tmp, spot_path):
    """Spot sampled at N_POINTS points: a PLY without normals, one with them, and the true normals."""
    import inrview
    from inrview.io.export import save_points
    from inrview.io.surface import sample_cloud

    spot = inrview.load(spot_path)
    pts, nrm = sample_cloud(spot.vertices, spot.faces, N_POINTS, seed=3)
    bare, with_n = app_tmp / "spot_cloud.ply", app_tmp / "spot_cloud_normals.ply"
    save_points(bare, pts)
    save_points(with_n, pts, nrm)
    return {"bare": bare, "normals": with_n, "points": pts, "true_normals": nrm}


@pytest.fixture(scope="module")
def win(qapp, app_tmp, window, showing):
    w = window(app_tmp / "cloud.ini", (900, 640))
    w.shape.model_panel.threads.setValue(1)
    w.shape.model_panel.preview.setCurrentIndex(w.shape.model_panel.preview.findData(32))
    w.quiet_errors = True  # errors are recorded in w.errors instead of a dialog
    yield from showing(w)


def open_and_wait(win, path, wait, timeout=60):
    opened = []
    win.shape.file_opened.connect(opened.append)
    try:
        assert win.open_path(path)
        wait(lambda: opened, timeout, f"{path} to open")
    finally:
        win.shape.file_opened.disconnect(opened.append)


def glyph_directions(win) -> np.ndarray:
    pts = np.asarray(win.viewport.layers["normals"].data.points)
    d = pts[1::2] - pts[0::2]
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def test_cloud_without_normals_estimates_orients_and_reports_flips(win, clouds, wait):
    win.shape.data_panel.set_normals_mode("auto")
    open_and_wait(win, clouds["bare"], wait)
    st = win.cloud.state
    assert st is not None and st.report.source == "estimated" and st.points == N_POINTS
    report = win.shape.data_panel.report.toPlainText()
    assert "training:    estimated (k=30)" in report, report
    m = re.search(r"flipped:\s+(\d+) of (\d+)\n", report)
    assert m, report
    assert int(m.group(1)) == st.report.flipped and int(m.group(2)) == N_POINTS
    assert 0 <= st.report.flipped <= N_POINTS
    assert f"{st.report.flipped} flipped by orientation" in win.log_panel.text.toPlainText()  # and in the log
    # the glyphs: one segment per point (5000 <= the display limit), hidden until asked for
    vp = win.viewport
    layer = vp.layers["normals"]
    assert layer.data.n_cells == N_POINTS and layer.data.n_points == 2 * N_POINTS
    assert not layer.actor.visibility and win.shape.data_panel.show_normals.isEnabled()
    # the glyphs show the normals training uses: oriented outward like the mesh's own normals
    d = glyph_directions(win)
    agree = np.einsum("ij,ij->i", d, clouds["true_normals"])
    assert np.mean(agree > 0) > 0.97, f"only {np.mean(agree > 0):.3f} of the estimated normals face outward"
    assert np.median(np.abs(agree)) > 0.95
    lengths = np.linalg.norm(np.diff(np.asarray(layer.data.points).reshape(-1, 2, 3), axis=1), axis=-1)
    diag = np.linalg.norm(np.ptp(clouds["points"], axis=0))
    assert 0.002 * diag <= lengths.mean() <= 0.03 * diag
    before = vp.grab_pixels()
    win.shape.data_panel.show_normals.setChecked(True)
    assert layer.actor.visibility
    after = vp.grab_pixels()
    assert (np.abs(after.astype(int) - before.astype(int)).sum(-1) > 24).mean() > 0.005, "no glyphs on screen"
    # the network the recon picks for a sparse cloud with normals, and the dock in cloud mode
    mp = win.shape.model_panel
    assert mp.kind.currentData() == win.worker.session.cfg.model.kind
    assert not mp.target.isEnabled() and not mp.samples.isEnabled()
    assert win.worker.session.task.use_normals


def test_normals_none_trains_the_normal_free_igr_network(win, clouds, wait):
    prepared = []
    win.worker.cloud.prepared.connect(prepared.append)
    win.shape.model_panel.set_budget(steps=15)
    win.shape.data_panel.normals.setCurrentIndex(win.shape.data_panel.normals.findData("none"))
    wait(lambda: prepared, 60, "the normals to be prepared again")
    st = win.cloud.state
    assert st.mode == "none" and st.glyphs is None and st.report.source == "none"
    assert "training:    no normals (IGR)" in win.shape.data_panel.report.toPlainText()
    assert "normals" not in win.viewport.layers
    assert not win.shape.data_panel.show_normals.isEnabled() and not win.shape.data_panel.show_normals.isChecked()
    s = win.worker.session
    assert not s.task.use_normals and s.cfg.model.kind == "relu"
    assert s.cfg.model.geometric_init and s.cfg.model.activation == "softplus" and s.cfg.train.lr == pytest.approx(3e-3)
    assert win.shape.model_panel.kind.currentData() == "relu"
    # it trains: no normal term among the losses, and a surface (IGR starts from a sphere)
    finals = []
    win.shape.final_drawn.connect(lambda: finals.append(1))
    win.shape.start_training(fresh=True)
    wait(lambda: finals and win.shape.state == "idle", 60, "the normal-free run")
    assert win.worker.session is s, "the dock's settings should have matched the prepared session"
    assert (
        s.trainer.state.step == 15
        and "normal" not in win.shape.loss_panel.values
        and "eikonal" in win.shape.loss_panel.values
    )
    assert win.viewport.visible("surface")
    # a choice the cloud cannot honour: an error naming the file, and the previous state is kept
    win.errors.clear()
    win.shape.data_panel.normals.setCurrentIndex(win.shape.data_panel.normals.findData("file"))
    wait(lambda: win.errors, 30, "the error")
    assert "spot_cloud.ply" in win.errors[-1] and "normals" in win.errors[-1]
    assert win.worker.session is s and win.cloud.state is st and win.shape.data_panel.normals_mode() == "none"
    # back to estimated normals (the default choice)
    prepared.clear()
    win.shape.data_panel.normals.setCurrentIndex(win.shape.data_panel.normals.findData("auto"))
    wait(lambda: prepared, 60, "the normals to be prepared again")
    win.worker.cloud.prepared.disconnect(prepared.append)
    assert win.cloud.state.report.source == "estimated" and win.worker.session.task.use_normals
    assert win.viewport.layers["normals"].data.n_cells == N_POINTS


def test_train_compare_with_poisson_side_by_side(win, wait):
    finals = []
    win.errors.clear()
    win.shape.final_drawn.connect(lambda: finals.append(1))
    win.shape.model_panel.set_budget(steps=150)
    win.shape.start_training(fresh=True)
    trainer = lambda: win.worker.session.trainer  # noqa: E731
    wait(lambda: win.shape.state == "training" and win.shape.surface_shown(), 60, "a live surface")
    assert win.cloud.act_compare.isEnabled()
    # compare while training: the worker runs Poisson between two steps, and training goes on afterwards
    results = []
    win.worker.done.connect(lambda tag, r: tag == "compare" and results.append(r))
    win.cloud.act_compare.trigger()
    assert not win.cloud.act_compare.isEnabled()  # one comparison at a time
    wait(lambda: results, 60, "the comparison")
    step = trainer().state.step
    wait(lambda: finals, 300, "the end of the run")
    assert trainer().state.step > step, "training did not go on after the comparison"
    warm = win.worker.session.task.sphere_warmup  # the grid starts from a sphere: the loss plot marks it
    marked = win.shape.loss_panel.warmup_steps
    assert warm > 0 and marked is not None and warm - 10 < marked[1] <= warm, (warm, marked)
    assert not win.errors, win.errors
    r = win.cloud.comparison
    p, n = r.scores["poisson"], r.scores["inrview"]
    assert p.mean_rel < 0.01 and p.faces > 1000 and 0 <= p.far_area < 0.05 and p.seconds > 0
    assert n is not None and n.faces > 0 and np.isfinite(n.mean_rel)  # an early surface, measured as it was
    assert win.cloud.compare_seconds and win.cloud.compare_seconds[0] < 60
    # the end of the run measured the final surface again
    wait(lambda: win.cloud.comparison is not r, 30, "the final surface's measures")
    n2 = win.cloud.comparison.scores["inrview"]
    print(f"\ncompare took {win.cloud.compare_seconds[0]:.2f} s; Poisson {p}; inrview (final) {n2}")
    assert n2.seconds > n.seconds and n2.faces > 1000 and n2.mean_rel < 0.02 and n2.watertight
    table = win.cloud.panel
    for row in ("inrview", "poisson"):
        for col in ("data→surface mean", "far area", "watertight", "faces", "time"):
            assert table.value(row, col) not in ("", "–"), (row, col)
    assert table.value("poisson", "data→surface mean") == f"{100 * p.mean_rel:.3f}%"
    assert table.value("inrview", "Chamfer-L1") == "–"  # no reference yet
    # side by side: the network's surface on the left, Poisson's on the right, one camera
    vp = win.viewport
    assert table.mode() == "side" and win.cloud.view.side_by_side and win.cloud.view_mode_actions["side"].isChecked()
    assert vp.visible("surface") and win.cloud.view.actor.visibility
    win.shape.data_panel.show_normals.setChecked(False)
    for toggle in win.shape.slices_panel.toggles:  # the surfaces alone (a slice plane is salmon, warm too)
        toggle.setChecked(False)
    win.shape.data_panel.show_domain.setChecked(False)
    vp.reset_view()
    px = vp.grab_pixels()
    h, w = px.shape[:2]
    left, right = surface_pixels(px[:, : w // 2]).mean(), surface_pixels(px[:, w // 2 :]).mean()
    assert left > 0.02 and right > 0.02, (left, right)
    assert win.cloud.view._right.GetActiveCamera() is vp.renderer.GetActiveCamera()
    # Poisson alone, inrview alone
    win.cloud.set_view_mode("poisson")
    assert not vp.layers["surface"].actor.visibility and win.cloud.view.actor.visibility
    assert surface_pixels(vp.grab_pixels()).mean() > 0.03
    win.cloud.set_view_mode("inrview")
    assert vp.layers["surface"].actor.visibility and not win.cloud.view.actor.visibility
    win.cloud.set_view_mode("side")
    assert win.cloud.view.side_by_side


def test_side_by_side_screenshot_export(win, app_tmp):
    from PIL import Image

    vp = win.viewport
    w, h = 2 * vp.width(), 2 * vp.height()  # the view's framing at twice its size
    out = app_tmp / "side.png"
    assert win.export_screenshot(str(out), w, h) == (w, h)
    img = np.asarray(Image.open(out).convert("RGB"))
    left, right = surface_pixels(img[:, : w // 2]).mean(), surface_pixels(img[:, w // 2 :]).mean()
    assert left > 0.02 and right > 0.02, (left, right)


def test_reference_mesh_bad_then_good(win, app_tmp, spot_path, wait):
    before = win.cloud.comparison
    steps = win.worker.session.trainer.state.step
    bad = app_tmp / "broken_reference.ply"
    bad.write_bytes(
        b"ply\nformat binary_little_endian 1.0\nelement vertex 1000\nproperty float x\n"
        b"property float y\nproperty float z\nelement face 10\n"
        b"property list uchar int vertex_indices\nend_header\n" + b"\0" * 100
    )
    win.errors.clear()
    win.cloud.set_reference(str(bad))
    wait(lambda: win.errors, 30, "the error")
    assert "broken_reference.ply" in win.errors[-1]
    assert win.cloud.comparison is before and win.cloud.view.has_poisson
    assert win.worker.session.trainer.state.step == steps and win.cloud.panel.value("poisson", "Chamfer-L1") == "–"
    cloud = app_tmp / "spot_cloud.ply"  # a point cloud is not a reference mesh
    win.errors.clear()
    win.cloud.set_reference(str(cloud))
    wait(lambda: win.errors, 30, "the error")
    assert "spot_cloud.ply" in win.errors[-1] and "mesh" in win.errors[-1]
    win.errors.clear()
    win.cloud.set_reference(str(spot_path))
    wait(
        lambda: win.cloud.comparison is not before and win.cloud.comparison.reference,
        60,
        "the measures against the reference",
    )
    assert not win.errors
    p, n = win.cloud.comparison.scores["poisson"], win.cloud.comparison.scores["inrview"]
    assert p.chamfer < 0.01 and p.f_score > 0.9, (p.chamfer, p.f_score)
    assert n.chamfer is not None and n.f_score is not None
    assert win.cloud.panel.value("poisson", "Chamfer-L1") == f"{p.chamfer:.3e}"


def test_export_poisson_mesh(win, app_tmp, wait):
    import inrview

    out = app_tmp / "spot_poisson.ply"
    done = []
    win.worker.done.connect(lambda tag, r: tag == "export_poisson" and done.append(r))
    win.worker.cloud.export_poisson(str(out))
    wait(lambda: done, 30, "the export")
    mesh = inrview.load(out)
    assert len(mesh.faces) == win.cloud.comparison.scores["poisson"].faces == done[0]["faces"]
    win.errors.clear()
    win.worker.cloud.export_poisson(str(app_tmp / "no_such_folder" / "p.ply"))
    wait(lambda: win.errors, 30, "the error")
    assert "no_such_folder" in win.errors[-1]


def test_cloud_with_normals_then_a_mesh(win, clouds, spot_path, wait):
    win.cloud.set_view_mode("poisson")  # a new file ends the comparison and shows no stale surface
    open_and_wait(win, clouds["normals"], wait)
    assert not win.viewport.visible("surface") and not win.cloud.view.has_poisson
    assert win.cloud.panel.mode() == "inrview" and win.cloud.view_mode_actions["inrview"].isChecked()
    st = win.cloud.state
    assert st.report.source == "file" and st.report.flipped == 0
    assert "training:    file's normals" in win.shape.data_panel.report.toPlainText()
    assert not win.cloud.view.has_poisson and win.cloud.panel.value("poisson", "faces") == "–"
    d = glyph_directions(win)
    np.testing.assert_allclose(d, clouds["true_normals"], atol=1e-5)
    # re-orienting normals that are already consistent flips (almost) none of them
    prepared = []
    win.worker.cloud.prepared.connect(prepared.append)
    win.shape.data_panel.normals.setCurrentIndex(win.shape.data_panel.normals.findData("orient"))
    wait(lambda: prepared, 60, "the re-oriented normals")
    win.worker.cloud.prepared.disconnect(prepared.append)
    assert win.cloud.state.report.source == "file, re-oriented" and win.cloud.state.report.flipped < 0.01 * N_POINTS
    assert f"flipped:     {win.cloud.state.report.flipped} of {N_POINTS}" in win.shape.data_panel.report.toPlainText()
    # a mesh: no normals choice, no glyphs, the model dock's mesh settings back
    open_and_wait(win, spot_path, wait)
    assert win.cloud.state is None and "normals" not in win.viewport.layers
    assert not win.shape.data_panel.normals.isEnabled() and not win.cloud.act_compare.isEnabled()
    assert win.shape.model_panel.target.isEnabled() and win.shape.model_panel.cloud_points is None


def test_large_cloud_is_subsampled_with_a_notice(win, app_tmp, spot_path, wait):
    import inrview
    from inrview.app.cloud.state import MAX_GLYPHS
    from inrview.io.export import save_points
    from inrview.io.surface import sample_cloud
    from inrview.recon import MAX_POINTS

    spot = inrview.load(spot_path)
    pts, nrm = sample_cloud(spot.vertices, spot.faces, MAX_POINTS + 10_000, seed=5)
    big = app_tmp / "big_cloud.ply"
    save_points(big, pts, nrm)
    open_and_wait(win, big, wait)
    assert win.cloud.state.points == MAX_POINTS and len(win.worker.session.geometry.vertices) == MAX_POINTS
    assert f"subsampled {MAX_POINTS + 10_000} points to {MAX_POINTS}" in win.log_panel.text.toPlainText()
    assert "notice:" in win.shape.data_panel.report.toPlainText()
    assert win.viewport.layers["normals"].data.n_cells == MAX_GLYPHS  # a display subset of the normals
    assert win.shape.model_panel.kind.currentData() == "grid"  # dense: the recon picks the grid


def test_a_failed_comparison_leaves_training_running(win, spot_path, wait, small_config):
    """No file the loader accepts makes Open3D's Poisson fail (it meshes even 10 points; coordinates of
    1e30 gave non-finite vertices, which poisson_reconstruct avoids by working in a unit box), so the failure
    here is the worker's own refusal: a comparison that reaches it while a mesh trains (as after a race
    with opening a file)."""
    open_and_wait(win, spot_path, wait)
    small_config(win.shape.model_panel)
    win.shape.model_panel.set_budget(steps=100_000)
    win.shape.start_training(fresh=True)
    wait(lambda: win.shape.state == "training" and win.worker.session.trainer.state.step > 3, 60, "training")
    trainer = win.worker.session.trainer
    win.errors.clear()
    win.worker.cloud.compare_poisson()
    wait(lambda: win.errors, 60, "the error")
    assert "point cloud" in win.errors[-1], win.errors[-1]
    assert win.cloud.comparison is None and not win.cloud.view.has_poisson and not win.cloud.comparing
    step = trainer.state.step
    wait(lambda: trainer.state.step > step + 3, 30, "training to go on after the failure")
    assert win.shape.state == "training" and win.worker.session.trainer is trainer
    win.shape.stop_training()
    wait(lambda: win.shape.state == "idle", 60, "the stop")
