"""The image mode (its controller and tab) without the window: drop, train live, views, export, pause, errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("PyQt6")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no 3D viewport here (the app conftest may pick xcb)

from PyQt6 import QtCore, QtGui  # noqa: E402

from inrview.app.image.controller import ImageController  # noqa: E402
from inrview.image import demo_image, load_image, save_image  # noqa: E402


@pytest.fixture
def small_png(tmp_path):
    img = load_image(demo_image()).crop(96, 96, 40, 48)  # 48 x 40, some detail
    return str(save_image(tmp_path / "small.png", img.pixels))


@pytest.fixture
def widget(qtbot):
    c = ImageController()
    qtbot.addWidget(c.panel)
    c.panel.resize(900, 600)
    c.panel.show()
    yield c
    c.shutdown()
    assert not c.worker.isRunning()


def _drop(widget, path):
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(path)])
    pos = QtCore.QPointF(widget.panel.width() / 2, widget.panel.height() / 2)
    enter = QtGui.QDragEnterEvent(
        pos.toPoint(),
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    widget.panel.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QtGui.QDropEvent(
        pos,
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    widget.panel.dropEvent(drop)


def _small_grid(widget, steps=300):
    p = widget.panel
    p.kind.setCurrentIndex(p.kind.findData("grid"))
    p.width_.setValue(16)
    p.steps.setValue(steps)
    p.batch.setValue(4096)


def test_drop_train_views_export(widget, qtbot, small_png, tmp_path):
    with qtbot.waitSignal(widget.worker.opened, timeout=10_000):
        _drop(widget, small_png)
    assert widget.image_size == (48, 40)
    assert widget.panel.view.picture.shape == (40, 48, 3)  # the target is shown at once
    _small_grid(widget)
    widget.start_training()
    qtbot.waitUntil(lambda: widget.last_frame is not None and widget.last_frame.done, timeout=60_000)
    f = widget.last_frame
    assert f.step == 300 and f.psnr > 26.0, f"PSNR {f.psnr:.2f} after 300 grid steps"
    assert widget.psnr_history[-1][1] >= widget.psnr_history[0][1]  # it learned while we watched
    assert widget.current_view() == "fitted"
    np.testing.assert_array_equal(widget.panel.view.picture, f.pictures["fitted"])
    assert "PSNR" in widget.panel.psnr_label.text()

    # derivative views are computed on demand and shown
    widget.set_view("laplacian")
    qtbot.waitUntil(lambda: "laplacian" in widget.last_frame.pictures, timeout=20_000)
    np.testing.assert_array_equal(widget.panel.view.picture, widget.last_frame.pictures["laplacian"])
    widget.set_view("gradient")
    grad = widget.last_frame.pictures["gradient"]
    assert grad.shape == (40, 48, 3) and grad.std() > 0  # a real map, not a blank

    # export at an arbitrary size, through the worker: above the image's size from a fit for upscaling
    # (inrview.config.image.upscaling_choice, as `inrview image fit --scale` does), trained once per image
    out = tmp_path / "big.png"
    with qtbot.waitSignal(widget.worker.done, timeout=180_000) as sig:
        widget.export_to(str(out), 150, 97)
    assert sig.args[0] == "export" and "for upscaling" in sig.args[1]
    assert load_image(out).shape == (97, 150, 3)
    with qtbot.waitSignal(widget.worker.done, timeout=20_000) as sig:
        widget.export_to(str(tmp_path / "small.png"), 24, 20)
    assert "upscaling" not in sig.args[1] and load_image(tmp_path / "small.png").shape == (20, 24, 3)


def test_pause_resume_stop(widget, qtbot, small_png):
    with qtbot.waitSignal(widget.worker.opened, timeout=10_000):
        widget.open_image(small_png)
    _small_grid(widget, steps=1_000_000)
    widget.start_training()
    qtbot.waitUntil(lambda: widget.state_name == "training", timeout=10_000)
    widget.panel.pause_btn.click()
    qtbot.waitUntil(lambda: widget.state_name == "paused", timeout=10_000)
    step = widget.worker.session.trainer.state.step
    qtbot.wait(300)
    assert widget.worker.session.trainer.state.step == step  # really held
    widget.panel.pause_btn.click()
    qtbot.waitUntil(lambda: widget.worker.session.trainer.state.step > step, timeout=10_000)
    widget.panel.stop_btn.click()
    qtbot.waitUntil(lambda: widget.state_name == "idle", timeout=10_000)
    assert widget.last_frame.done


def test_bad_file_reports_and_keeps_working(widget, qtbot, tmp_path, small_png):
    bad = tmp_path / "junk.png"
    bad.write_bytes(b"not an image")
    with qtbot.waitSignal(widget.worker.failed, timeout=10_000) as sig:
        widget.open_image(str(bad))
    assert "junk.png" in sig.args[1]
    assert "failed" in widget.panel.status.text()
    with qtbot.waitSignal(widget.worker.failed, timeout=10_000):
        widget.start_training()  # nothing opened yet: a message, not a crash
    with qtbot.waitSignal(widget.worker.opened, timeout=10_000):
        widget.open_image(small_png)


def test_shutdown_while_training_is_idempotent(qtbot, small_png):
    w = ImageController()
    qtbot.addWidget(w.panel)
    with qtbot.waitSignal(w.worker.opened, timeout=10_000):
        w.open_image(small_png)
    _small_grid(w, steps=1_000_000)
    w.start_training()
    qtbot.waitUntil(lambda: w.state_name == "training", timeout=10_000)
    w.shutdown()
    assert not w.worker.isRunning()
    w.shutdown()


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_record_a_time_lapse_of_the_picture_sharpening(widget, qtbot, small_png, tmp_path, suffix):
    import imageio.v3 as iio

    if suffix == ".mp4":
        pytest.importorskip("imageio_ffmpeg")
    out = tmp_path / f"sharpening{suffix}"
    widget.ask_timelapse_path = lambda: str(out)
    with qtbot.waitSignal(widget.worker.opened, timeout=10_000):
        widget.open_image(small_png)
    _small_grid(widget, steps=400)
    widget.worker.min_preview_interval = 0.02  # many pictures in a short run
    widget.panel.record.setChecked(True)
    widget.panel.record_frames.setValue(12)
    widget.start_training()
    qtbot.waitUntil(lambda: str(out) in widget.saved_timelapses, timeout=60_000)
    frames = iio.imread(out, index=None)
    assert frames.shape[0] >= 10 and frames.shape[1:3] == (240, 288)  # 40 x 48 enlarged 6x
    diffs = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(frames[:-1], frames[1:])]
    assert sum(d > 0.05 for d in diffs) >= 9, diffs
    final = widget.last_frame.pictures["fitted"]
    last = frames[-1][3::6, 3::6, :3].astype(int)  # the last frame is the final picture (GIF palette, MP4 codec)
    assert np.abs(last - final).mean() < (3 if suffix == ".gif" else 12)


def test_an_image_checkpoint_opens_again_with_its_picture(widget, qtbot, small_png, tmp_path):
    with qtbot.waitSignal(widget.worker.opened, timeout=10_000):
        widget.open_image(small_png)
    _small_grid(widget, steps=150)
    widget.start_training()
    qtbot.waitUntil(lambda: widget.last_frame is not None and widget.last_frame.done, timeout=60_000)
    trained = widget.last_frame
    ckpt = str(tmp_path / "picture.safetensors")
    with qtbot.waitSignal(widget.worker.done, timeout=20_000):
        widget.worker.save_checkpoint(ckpt)
    assert widget.accepts(ckpt) and not widget.accepts(str(tmp_path / "missing.safetensors"))
    frames = []
    widget.worker.frame.connect(frames.append)
    with qtbot.waitSignal(widget.worker.opened, timeout=20_000) as sig:
        widget.open_image(ckpt)
    qtbot.waitUntil(lambda: len(frames) > 0, timeout=10_000)
    assert sig.args[0]["width"] == 48 and "150 steps" in widget.panel.info.text()
    f = frames[-1]
    diff = np.abs(f.pictures["fitted"].astype(int) - trained.pictures["fitted"].astype(int))
    assert diff.mean() < 1.0  # the same network, rendered again
    assert abs(f.psnr - trained.psnr) < 0.5  # against the source image, still on disk
    assert widget.current_view() == "fitted"
    out = tmp_path / "from_checkpoint.png"
    with qtbot.waitSignal(widget.worker.done, timeout=20_000):
        widget.export_to(str(out), 96, 80)
    assert load_image(out).shape == (80, 96, 3)


def _bar_colour(bar, frac: float) -> tuple[int, int, int]:
    """The colour of the bar's ramp `frac` of the way up (0: bottom, 1: top)."""
    img = bar.grab().toImage()
    top, bottom = 24, bar.height() - 10
    c = img.pixelColor(10, int(round(bottom - 1 - frac * (bottom - top - 2))))
    return c.red(), c.green(), c.blue()


def test_gradient_and_laplacian_views_have_colour_bars_with_their_scales(widget, qtbot, small_png):
    with qtbot.waitSignal(widget.worker.opened, timeout=10_000):
        widget.open_image(small_png)
    widget.set_view("gradient")
    assert widget.panel.color_bar.isHidden()  # no fit yet: no scale to show
    _small_grid(widget, steps=60)
    widget.start_training()
    qtbot.waitUntil(lambda: widget.last_frame is not None and widget.last_frame.done, timeout=60_000)
    bar, views = widget.panel.color_bar, widget.worker.views
    widget.set_view("gradient")
    assert bar.isVisible() and not bar.signed and bar.title == "|∇|"
    assert bar.vmax == pytest.approx(views.grad_scale) and views.grad_scale > 0
    assert [t for _, t in bar.labels()] == ["0", f"{views.grad_scale / 2:.3g}", f"{views.grad_scale:.3g}+"]
    dark, bright = _bar_colour(bar, 0.0), _bar_colour(bar, 1.0)
    assert max(dark) < 40 and min(bright[:2]) > 200, (dark, bright)  # black at 0, yellow at the scale

    widget.set_view("target laplacian")
    assert bar.isVisible() and bar.signed and bar.title == "Δ" and bar.vmax == pytest.approx(views.lap_scale)
    lap = views.lap_scale
    assert [t for _, t in bar.labels()] == [f"≤{-lap:.3g}", "0", f"{lap:.3g}+"]
    low, mid, high = _bar_colour(bar, 0.0), _bar_colour(bar, 0.5), _bar_colour(bar, 1.0)
    assert low[2] > low[0] + 40 and high[0] > high[2] + 40 and min(mid) > 200, (low, mid, high)

    widget.set_view("error")
    assert bar.isVisible() and bar.title == "error" and bar.vmax == pytest.approx(0.1)
    widget.set_view("fitted")
    assert bar.isHidden()
