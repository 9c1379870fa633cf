"""The real window with its embedded VTK view, on the Xvfb display started by conftest.py.

One window serves the tests of this module in order (opening and training a shape costs seconds on two cores);
each test leaves it idle with the demo shape open. Pixels are read back from the view to prove what is drawn.
"""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6 import QtCore, QtGui, QtWidgets

pytestmark = pytest.mark.gui


def fraction(mask: np.ndarray) -> float:
    return float(mask.mean())


def surface_pixels(px: np.ndarray) -> np.ndarray:
    """The golden surface: red well above blue (the background gradient is blue-grey, B > R)."""
    r, g, b = (px[..., i].astype(int) for i in range(3))
    return (r > b + 25) & (g > b + 5) & (r > 60)


def not_background(px: np.ndarray) -> np.ndarray:
    """Anything but the blue-grey background gradient (where blue exceeds red)."""
    return px[..., 0].astype(int) >= px[..., 2].astype(int)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int)).sum(axis=-1) > 24


@pytest.fixture(scope="module")
def win(qapp, app_tmp, small_config, window, showing):
    w = window(app_tmp / "window.ini", (720, 540))
    small_config(w.shape.model_panel, steps=60)
    yield from showing(w)


def drop_file(target: QtWidgets.QWidget, path) -> None:
    """A drag-and-drop of a local file onto `target`, as the window system delivers it."""
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path))])
    pos = QtCore.QPointF(target.width() / 2, target.height() / 2)
    act = QtCore.Qt.DropAction.CopyAction
    no_btn, no_mod = QtCore.Qt.MouseButton.NoButton, QtCore.Qt.KeyboardModifier.NoModifier
    enter = QtGui.QDragEnterEvent(pos.toPoint(), act, mime, no_btn, no_mod)
    QtWidgets.QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the window refused the drag"
    drop = QtGui.QDropEvent(pos, act, mime, no_btn, no_mod)
    QtWidgets.QApplication.sendEvent(target, drop)


def train_to_end(win, wait, timeout=60):
    finals = []
    win.shape.final_drawn.connect(lambda: finals.append(1))
    win.shape.start_training(fresh=True)
    wait(lambda: finals, timeout, "the final surface")
    wait(lambda: win.shape.state == "idle", 10, "the worker to go idle")


def test_drop_train_and_see_the_surface(win, spot_path, wait):
    opened = []
    win.shape.file_opened.connect(opened.append)
    drop_file(win.viewport, spot_path)  # dropped on the view; the window takes it
    wait(lambda: opened, 60, "the dropped file to open")
    assert opened[-1] == str(spot_path)
    assert win.viewport.visible("input") and win.viewport.layers["input"].data.n_points == 2930
    train_to_end(win, wait)
    vp = win.viewport
    surf = vp.layers["surface"]
    assert surf.actor.visibility and surf.data.n_cells > 500, "no surface with faces"
    lo, hi = np.array(surf.data.bounds).reshape(3, 2).T
    assert np.all(hi - lo > 0.5), f"surface bounds too small: {lo} {hi}"  # spot is ~0.94 x 1.69 x 1.72
    for ax in "xy":  # the default planes: X through the middle, Y under the body
        sl = vp.layers[f"slice_{ax}"]
        vals = sl.values
        assert sl.actor.visibility and sl.data.n_points == 4 and vals.shape == (128, 128)
        assert sl.image.dimensions == (128, 128, 1)
        assert np.isfinite(vals).all() and vals.min() < 0 < vals.max()
        assert vp.layers[f"contour_{ax}"].data.n_points > 20
    step = win.worker.session.trainer.state.step
    assert step == 60 and f"step {step}" in win.status.step_label.text()
    lp = win.shape.loss_panel
    assert lp.steps[-1] == 60 and len(lp.steps) >= 30 and 0 < lp.last()["sdf_l1"] < 0.1
    assert np.mean(lp.values["sdf_l1"][-5:]) < np.mean(lp.values["sdf_l1"][:5]), "the loss did not go down"
    x, y = lp.curves["sdf_l1"].getData()  # the curve is on the plot, in log10 units
    assert len(x) == len(lp.steps) and np.isclose(10 ** y[-1], lp.last()["sdf_l1"])
    (x0, x1), (y0, y1) = lp.plot.getViewBox().viewRange()
    assert x0 <= lp.steps[0] and x1 >= lp.steps[-1] and y0 <= np.nanmin(y) and y1 >= np.nanmax(y)

    # read back the view's pixels: the surface and the slice planes are really on screen
    with_all = vp.grab_pixels()
    assert with_all.shape[:2] == (
        round(vp.height() * vp.devicePixelRatioF()),
        round(vp.width() * vp.devicePixelRatioF()),
    )
    assert fraction(not_background(with_all)) > 0.15
    win.shape.slices_panel.toggles[0].setChecked(False)
    win.shape.slices_panel.toggles[1].setChecked(False)
    no_slices = vp.grab_pixels()
    assert not vp.visible("slice_x") and not vp.visible("slice_y")
    assert fraction(changed(with_all, no_slices)) > 0.05, "the slice planes were not on screen"
    assert fraction(surface_pixels(no_slices)) > 0.03, "the surface is not visible"
    win.shape.data_panel.show_surface.setChecked(False)
    bare = vp.grab_pixels()
    assert fraction(surface_pixels(bare)) < 0.002, "hiding the surface left it on screen"
    assert fraction(changed(no_slices, bare)) > 0.03
    win.shape.data_panel.show_surface.setChecked(True)
    win.shape.slices_panel.toggles[0].setChecked(True)
    win.shape.slices_panel.toggles[1].setChecked(True)
    wait(lambda: vp.visible("slice_x") and vp.visible("slice_y"), 10, "the planes to come back")


def test_screenshot_export_at_another_size(win, app_tmp):
    from PIL import Image

    out = app_tmp / "shot.png"
    assert win.export_screenshot(str(out), 333, 211) == (333, 211)
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (211, 333, 3) and (vp_size := win.viewport.size()) != QtCore.QSize(333, 211), vp_size
    assert fraction(surface_pixels(img)) > 0.01 and fraction(not_background(img)) > 0.1
    out_t = app_tmp / "shot_t.png"
    win.export_screenshot(str(out_t), 300, 300, transparent=True)
    rgba = np.asarray(Image.open(out_t))
    assert rgba.shape == (300, 300, 4)
    alpha = rgba[..., 3]
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 0, "background is not transparent"
    assert 0.05 < fraction(alpha > 0) < 0.95


def test_vtk_surprise_keys_do_nothing_and_r_resets(win, wait):
    from PyQt6.QtTest import QTest

    vp = win.viewport
    win.activateWindow()  # shortcuts belong to the active window (no window manager on Xvfb)
    wait(lambda: QtWidgets.QApplication.activeWindow() is win, 5, "the window to be active")
    vp.setFocus()
    QTest.keyClick(vp, QtCore.Qt.Key.Key_R)
    QtWidgets.QApplication.processEvents()
    before = vp.camera_state()
    vp.camera.Azimuth(70)
    vp.render_now()
    assert np.linalg.norm(np.subtract(vp.camera_state()["position"], before["position"])) > 0.1
    for key in ("3", "w", "s", "e", "q", "p", "f", "j", "a"):
        QTest.keyClick(vp, key)
    QtWidgets.QApplication.processEvents()
    assert win.isVisible() and not getattr(vp, "_closed", False), "a key closed the view"
    assert not vp.render_window.GetStereoRender(), "'3' switched stereo on"
    assert vp.layers["surface"].actor.prop.style.lower() == "surface", "'w' switched to wireframe"
    QTest.keyClick(vp, QtCore.Qt.Key.Key_R)
    QtWidgets.QApplication.processEvents()
    after = vp.camera_state()
    np.testing.assert_allclose(after["position"], before["position"], rtol=1e-6, atol=1e-9)
    QTest.keyClick(vp, QtCore.Qt.Key.Key_X)  # camera preset: look from +X
    pos, focal = np.array(vp.camera.position), np.array(vp.camera.focal_point)
    d = (pos - focal) / np.linalg.norm(pos - focal)
    np.testing.assert_allclose(d, [1, 0, 0], atol=1e-6)
    QTest.keyClick(vp, QtCore.Qt.Key.Key_R)


def test_pause_resume_stop(win, wait):
    win.shape.model_panel.set_budget(steps=100_000)
    win.shape.start_training(fresh=False)  # continue the trained network
    trainer = win.worker.session.trainer
    start = trainer.state.step
    wait(lambda: win.shape.state == "training" and trainer.state.step > start + 3, 30, "training to run")
    win.shape.act_pause.trigger()
    wait(lambda: win.shape.state == "paused", 10, "pause")
    assert win.shape.act_pause.text() == "&Resume" and win.status.state_label.text() == "Paused"
    held = trainer.state.step
    QtCore.QThread.msleep(600)
    QtWidgets.QApplication.processEvents()
    assert trainer.state.step == held, "steps advanced while paused"
    win.shape.act_pause.trigger()
    wait(lambda: trainer.state.step > held + 2, 30, "training to resume")
    finals = []
    win.shape.final_drawn.connect(lambda: finals.append(1))
    win.shape.act_stop.trigger()
    wait(lambda: finals and win.shape.state == "idle", 30, "stop")
    stopped = trainer.state.step
    QtCore.QThread.msleep(300)
    QtWidgets.QApplication.processEvents()
    assert trainer.state.step == stopped and win.status.state_label.text() == "Stopped"
    assert win.shape.act_start.isEnabled() and win.shape.act_continue.isEnabled() and not win.shape.act_stop.isEnabled()
    win.shape.model_panel.set_budget(steps=60)


def test_broken_file_shows_error_and_keeps_shape(win, app_tmp, spot_path, wait):
    bad = app_tmp / "broken.ply"
    bad.write_bytes(
        b"ply\nformat binary_little_endian 1.0\nelement vertex 1000\nproperty float x\n"
        b"property float y\nproperty float z\nelement face 10\n"
        b"property list uchar int vertex_indices\nend_header\n" + b"\x00" * 37
    )
    faces_before = win.viewport.layers["surface"].data.n_cells
    failures = []
    win.shape.open_failed.connect(failures.append)
    win.open_path(bad)
    wait(lambda: failures, 30, "the load error")
    assert "broken.ply" in failures[-1]
    box = win.error_box
    assert box is not None and box.isVisible() and "broken.ply" in box.text()
    assert win.log_panel.errors()[-1] == failures[-1]
    box.close()
    assert win.shape.current.path == str(spot_path) and win.windowTitle().endswith("spot.obj")
    assert win.worker.session is not None and win.worker.session.geometry.source == str(spot_path)
    assert win.viewport.layers["surface"].data.n_cells == faces_before and win.viewport.visible("surface")


def test_bad_input_corpus_never_changes_the_open_shape(win, app_tmp, spot_path, wait):
    """Up to three files of every kind of bad input in the shared corpus (tests/corpus.py): each one gives an
    error dialog naming the file, and the open shape, its network and its surface stay as they were."""
    import sys
    from collections import defaultdict
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import corpus

    cases = [
        c
        for c in corpus.generate(app_tmp / "corpus", big=False)
        if c.kind == "shape" and c.expect == "error" and not win.image.accepts(c.path)
    ]  # pictures go to image mode
    by_group = defaultdict(list)
    for c in cases:
        by_group[c.group].append(c)
    chosen = [c for group in by_group.values() for c in group[:3]]
    session, faces = win.worker.session, win.viewport.layers["surface"].data.n_cells
    failures = []
    win.shape.open_failed.connect(failures.append)
    for c in chosen:
        n = len(failures)
        win.open_path(c.path)
        wait(lambda n=n: len(failures) > n, 30, f"the error for {c.name}")
        msg = failures[-1]
        assert Path(c.path).name in msg and c.text in msg, (c.name, msg)
        assert win.error_box.isVisible() and win.error_box.text() == msg
    win.error_box.close()
    assert len(chosen) >= 40 and len(by_group) >= 15
    assert win.worker.session is session and win.shape.current.path == str(spot_path)
    assert win.viewport.layers["surface"].data.n_cells == faces and win.viewport.visible("surface")
    assert win.worker.isRunning() and win.shape.state == "idle"


def test_checkpoint_save_open_and_export_mesh(win, app_tmp, spot_path, wait):
    import trimesh

    import inrview

    done = []
    win.worker.done.connect(lambda tag, r: done.append((tag, r)))
    ckpt = app_tmp / "spot.safetensors"
    win.worker.save_checkpoint(str(ckpt))
    wait(lambda: any(t == "checkpoint" for t, _ in done), 20, "the checkpoint")
    assert ckpt.stat().st_size > 1000
    opened, finals = [], []
    win.shape.file_opened.connect(opened.append)
    win.shape.final_drawn.connect(lambda: finals.append(1))
    win.open_path(ckpt)
    wait(lambda: opened and finals, 60, "the checkpoint to open and show its surface")
    assert win.shape.current.kind == "checkpoint" and win.shape.current.trainable
    assert win.viewport.layers["surface"].data.n_cells > 500
    assert win.shape.act_continue.isEnabled()  # it resumes from the saved step
    assert win.worker.session.trainer.state.step == win.shape.current.steps_done > 0
    out = app_tmp / "spot_inr.obj"
    win.worker.export_mesh(str(out), 48)
    wait(lambda: any(t == "export" for t, _ in done), 60, "the mesh export")
    m = trimesh.load(out, process=False)
    ref = inrview.load(spot_path)
    assert len(m.faces) > 500
    # written in the input's units: the bounding boxes agree within a few grid cells
    np.testing.assert_allclose(m.bounds, ref.bounds, atol=0.15)


def test_autosave_while_training(win, wait):
    win.shape.exports.set_autosave_interval(0.5)
    win.shape.model_panel.set_budget(steps=100_000)
    done = []
    win.worker.done.connect(lambda tag, r: done.append((tag, r)))
    win.shape.start_training(fresh=False)
    wait(lambda: any(t == "autosave" for t, _ in done), 30, "an autosave")
    result = next(r for t, r in done if t == "autosave")
    from inrview.training.checkpoint import read

    assert read(result["path"]).header["trainer"]["step"] == result["step"] > 0
    win.shape.stop_training()
    wait(lambda: win.shape.state == "idle", 30, "stop")
    win.shape.exports.set_autosave_interval(300)
    win.shape.model_panel.set_budget(steps=60)


def test_opening_while_training_asks_then_stops(win, spot_path, wait, monkeypatch):
    win.shape.model_panel.set_budget(steps=100_000)
    win.shape.start_training(fresh=False)
    wait(lambda: win.shape.state == "training", 30, "training")
    answers = [False]
    monkeypatch.setattr(win, "confirm", lambda title, q: answers.pop(0))
    assert win.open_path(spot_path) is False  # the user said no: training goes on
    step = win.worker.session.trainer.state.step
    wait(lambda: win.worker.session.trainer.state.step > step, 30, "training to go on")
    answers.append(True)
    opened = []
    win.shape.file_opened.connect(opened.append)
    assert win.open_path(spot_path) is True
    wait(lambda: opened and win.shape.state == "idle", 60, "the new file")
    assert not win.worker.training and win.worker.session.trainer.state.step == 0
    assert not win.viewport.visible("surface")  # the new shape has no network surface yet
    win.shape.model_panel.set_budget(steps=60)


def test_actions_at_any_moment_leave_consistent_state(win, spot_path, app_tmp, wait):
    """Start, pause, resume, stop, continue, reopen and save in a quick random order (seeded): nothing fails,
    and once everything settles the window, the worker and the view agree with each other."""
    from PyQt6.QtTest import QTest

    rng = np.random.default_rng(7)
    win.shape.model_panel.set_budget(steps=100_000)
    acts = {
        "start": lambda: win.shape.act_start.isEnabled() and win.shape.act_start.trigger(),
        "continue": lambda: win.shape.act_continue.isEnabled() and win.shape.act_continue.trigger(),
        "pause": lambda: win.shape.act_pause.isEnabled() and win.shape.act_pause.trigger(),
        "stop": lambda: win.shape.act_stop.isEnabled() and win.shape.act_stop.trigger(),
        "slider": lambda: win.shape.slices_panel.sliders[int(rng.integers(0, 3))].setValue(int(rng.integers(0, 1000))),
        "toggle": lambda: win.shape.slices_panel.toggles[2].toggle(),
        "save": lambda: win.worker.field is not None and win.worker.save_checkpoint(str(app_tmp / "any.safetensors")),
        "reopen": lambda: win.open_path(spot_path),
    }
    names = list(acts)
    errors_before = len(win.errors)
    for _ in range(30):
        acts[names[int(rng.integers(0, len(names)))]]()
        QTest.qWait(int(rng.integers(20, 250)))
    if win.worker.training:
        win.shape.stop_training()
    wait(lambda: win.shape.state == "idle" and not win.worker.training, 60, "the worker to settle")
    QTest.qWait(300)
    assert win.errors[errors_before:] == [], win.errors[errors_before:]
    assert win.worker.isRunning() and win.shape.act_start.isEnabled() and not win.shape.act_stop.isEnabled()
    s = win.worker.session
    assert s is not None and s.geometry.source == str(spot_path)
    lp = win.shape.loss_panel
    if s.trainer.state.step > 0:  # the loss curve ends at the trainer's step, the view shows a surface
        assert lp.steps and lp.steps[-1] <= s.trainer.state.step
        wait(lambda: win.viewport.visible("surface"), 30, "the surface")
    assert win.viewport.actor_count() <= 9  # one prop per layer, nothing left behind
    win.shape.model_panel.set_budget(steps=60)


def test_python_log_records_reach_the_log_dock_from_any_thread(win, wait):
    import logging
    import threading

    t = threading.Thread(target=lambda: logging.getLogger("inrview.test").warning("from a worker thread"))
    t.start()
    t.join()
    wait(lambda: ("warning", "from a worker thread") in win.log_panel.entries, 5, "the log record")
    assert "from a worker thread" in win.log_panel.text.toPlainText()
