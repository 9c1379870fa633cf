"""Watching the network learn, in the real window under Xvfb: the training samples, error colours with their
colour bars, a probe on the zero contour, the live measures' plot and a recorded time-lapse.

One window serves the module's tests in order; budgets are steps, not seconds. Each view's screenshot is
read back and checked; INRVIEW_DOC_IMAGES=folder also keeps them there (docs/images/ for the documentation).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def win(qapp, app_tmp, small_config, wait, window, spot_path):
    w = window(app_tmp / "watch.ini", (760, 560))
    small_config(w.shape.model_panel, steps=40)
    w.confirm = lambda title, question: True
    w.worker.min_preview_interval = 0.05  # a preview every few steps: short runs still show many surfaces
    w.show()
    for dock in w.docks.values():
        dock.hide()  # the view fills the window: the screenshots show it at a useful size
    wait(lambda: w.viewport.isVisible(), 10, "the window to show")
    opened = []
    w.shape.file_opened.connect(opened.append)
    w.open_path(spot_path)
    wait(lambda: opened, 60, "spot to open")
    w.shape.slices_panel.toggles[1].setChecked(False)  # one plane (X, through the middle)
    yield w
    w.close()
    wait(lambda: not w.worker.isRunning(), 30, "the worker to end")


def train(win, wait, steps=40):
    finals = []
    win.shape.final_drawn.connect(lambda: finals.append(1))
    win.shape.model_panel.set_budget(steps=steps)
    win.shape.start_training(fresh=True)
    wait(lambda: finals, 90, "the final surface")
    wait(lambda: win.shape.state == "idle", 10, "the worker to go idle")


def shot(win, name: str) -> np.ndarray:
    """The view as shown (a read-back of the widget), kept as a documentation picture when asked."""
    px = win.viewport.grab_pixels()
    folder = os.environ.get("INRVIEW_DOC_IMAGES")
    if folder:
        from PIL import Image

        Image.fromarray(px).save(os.path.join(folder, f"app_{name}.png"), optimize=True)
    return px


def near(px: np.ndarray, color: str, tol: int = 40) -> float:
    """Fraction of pixels within `tol` (per channel) of a hex colour."""
    rgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])
    return float((np.abs(px.astype(int) - rgb).max(axis=-1) <= tol).mean())


def test_training_samples_by_target_and_by_loss(win, wait):
    from inrview.app.watch.draw import TARGET_COLORS

    w = win.watch
    w.act_samples.trigger()
    train(win, wait)
    layer = win.viewport.layers["samples"]
    assert layer.actor.visibility and layer.data.n_points == 20_000
    target = layer.data.point_data["target"]
    assert set(np.unique(target)) == {0.0, 1.0, 2.0}  # inside, surface and outside samples are all drawn
    colors = layer.actor.mapper.map_scalars(target) if hasattr(layer.actor.mapper, "map_scalars") else None
    assert colors is None or len(colors) == 20_000
    px = shot(win, "samples")
    assert near(px, TARGET_COLORS[0]) > 0.002 and near(px, TARGET_COLORS[2]) > 0.002, "samples not on screen"
    assert "sample target" in win.viewport.scalar_bars
    w.act_by_loss.trigger()
    w._refresh()
    wait(lambda: "loss" in win.viewport.layers["samples"].data.point_data, 20, "samples coloured by loss")
    loss = win.viewport.layers["samples"].data.point_data["loss"]
    assert len(loss) == 20_000 and np.all(loss >= 0) and loss.max() > 0
    lo, hi = w.bars.range("samples")
    assert lo == 0 and 0 < hi <= loss.max()
    w.act_by_loss.trigger()
    w.act_samples.trigger()
    assert "samples" not in win.viewport.layers and not w.bars.titles


def test_error_colours_match_the_chamfer_scale(win, wait):
    from inrview.sampling import MeshDistance

    w, vp = win.watch, win.viewport
    w.act_errors.trigger()
    train(win, wait, steps=60)
    surf = vp.layers["surface"]
    assert surf.actor.mapper.scalar_visibility and "error" in surf.data.point_data
    err = surf.data.point_data["error"]
    session = win.worker.session
    g = session.geometry
    acc = MeshDistance(g.vertices, g.faces).unsigned(surf.data.points).mean()
    comp = MeshDistance(surf.data.points, surf.data.regular_faces).unsigned(g.vertices).mean()
    chamfer = (acc + comp) / 2  # in the input's units, like the colours
    lo, hi = w.bars.range("error")
    assert lo == 0 and chamfer / 3 < hi < chamfer * 10, (hi, chamfer)
    np.testing.assert_allclose(err.mean(), acc, rtol=1e-4)
    title = w.bars.titles["error"]
    assert g.units in title and "distance" in title
    s_lo, s_hi = w.bars.range("slices")
    assert s_lo == -s_hi and 0 < s_hi < session.cfg.train.clamp / session.normalization.scale
    px = shot(win, "errors")
    assert near(px, "#fde725", 60) + near(px, "#21918c", 50) > 0.003, "no error colours on screen"
    w.act_errors.trigger()
    wait(lambda: not surf.actor.mapper.scalar_visibility and "error" not in w.bars.titles, 10, "plain colours")


def test_probe_on_the_zero_contour_reads_zero(win, wait):
    from inrview.app.watch.draw import display_position

    w, vp = win.watch, win.viewport
    w.act_probe.trigger()
    vp.render_now()
    wait(lambda: vp.visible("contour_x"), 10, "the X contour")
    pts = vp.layers["contour_x"].data.points
    p = pts[len(pts) // 3]
    x, y = display_position(vp, p)
    assert w.probe_at_display(x, y), "the click did not hit the slice or the surface"
    wait(lambda: w.last_probe is not None, 20, "the probe's answer")
    r = w.last_probe
    extent = np.ptp(win.worker.session.geometry.vertices, axis=0).max()
    assert np.linalg.norm(np.subtract(r["point"], p)) < 0.03 * extent
    assert abs(r["value"]) < 0.01 * extent, r  # the zero contour reads about zero
    assert r["exact"] is not None and abs(r["exact"]) < 0.05 * extent
    field, h = win.worker.field, 1e-3 * extent  # the read-out's |grad f| is the field's (the worker is idle)
    fd = [
        (field(np.array([r["point"]]) + h * e) - field(np.array([r["point"]]) - h * e))[0] / (2 * h) for e in np.eye(3)
    ]
    assert r["gradient_norm"] > 0 and np.isclose(r["gradient_norm"], np.linalg.norm(fd), rtol=0.05)
    assert vp.visible("probe") and "|grad f|" in win.status.currentMessage()
    shot(win, "probe")
    w.act_probe.trigger()
    assert "probe" not in vp.layers


def test_measures_plot_and_best_checkpoint_action(win):
    w, lp = win.watch, win.shape.loss_panel
    assert not w.act_best.isEnabled() or getattr(win.worker.session, "best", None) is not None
    lp.add_measures(10, {"chamfer_l1": 0.02, "normal_consistency": 0.8, "iou": 0.7})
    lp.add_measures(20, {"chamfer_l1": 0.01, "normal_consistency": 0.9, "iou": 0.8})
    assert not lp.measures.isHidden()
    x, y = lp.measures.curves["chamfer_l1"].getData()
    assert list(x) == [10, 20] and np.allclose(10 ** np.asarray(y), [0.02, 0.01])
    assert list(lp.measures.curves["iou"].getData()[1]) == [0.7, 0.8]
    lp.clear()
    assert lp.measures.isHidden() and not lp.measures.curves


def test_record_a_time_lapse_gif(win, wait, app_tmp):
    import imageio.v3 as iio

    w = win.watch
    out = app_tmp / "spot.gif"
    w.ask_timelapse_path = lambda: str(out)
    w.frames_spin.setValue(16)
    w.act_record.trigger()
    train(win, wait, steps=240)  # enough previews for 16 marks even on a busy machine
    wait(lambda: str(out) in w.saved_timelapses, 30, "the time-lapse to be saved")
    frames = iio.imread(out, index=None)
    assert frames.shape[0] >= 10 and frames.shape[1:3] == (360, 480)
    diffs = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(frames[:-1], frames[1:])]
    assert sum(d > 0.05 for d in diffs) >= 9, diffs  # successive frames differ: the surface learns
    last = frames[-1][..., :3].astype(int)
    golden = (last[..., 0] > last[..., 2] + 25) & (last[..., 1] > last[..., 2] + 5)
    assert golden.mean() > 0.03, "the last frame does not show the final surface"
    folder = os.environ.get("INRVIEW_DOC_IMAGES")
    if folder:  # four frames side by side, at half size
        from PIL import Image

        picks = [frames[i][::2, ::2, :3] for i in np.linspace(0, len(frames) - 1, 4).astype(int)]
        Image.fromarray(np.concatenate(picks, axis=1)).save(os.path.join(folder, "app_timelapse.png"), optimize=True)
    assert not w.act_record.isChecked() and w.recorder is None
