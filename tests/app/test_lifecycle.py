"""Closing while training, persisted settings, and the scripted command line end to end."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def test_close_during_training_stops_worker_and_keeps_work(qapp, app_tmp, spot_path, small_config, wait):
    from inrview.app import make_window
    from inrview.app.common.settings import Settings
    from inrview.training.checkpoint import read

    settings = Settings(app_tmp / "close.ini")
    w = make_window(settings, restore=False, size=(640, 480))
    small_config(w.shape.model_panel, steps=1_000_000)
    w.show()
    opened = []
    w.shape.file_opened.connect(opened.append)
    w.open_path(spot_path)
    wait(lambda: opened, 60, "the file")
    w.shape.start_training()
    trainer = lambda: w.worker.session.trainer  # noqa: E731
    wait(lambda: w.shape.state == "training" and trainer().state.step > 5, 30, "training")
    size = (w.width(), w.height())
    w.close()
    assert not w.worker.isRunning(), "the worker outlived the window"
    assert getattr(w.viewport, "_closed", False), "the plotter was not closed"
    step = trainer().state.step
    auto = settings.autosave_path(str(spot_path))
    assert auto.exists(), "closing while training lost the running work"
    assert 0 < read(auto).header["trainer"]["step"] <= step
    # the window remembered its geometry and the dock layout; a new window restores them
    w2 = make_window(app_tmp / "close.ini", restore=True)
    try:
        assert (w2.width(), w2.height()) == size
        assert w2.shape.model_panel.budget() == (1_000_000, None)
        assert w2.shape.model_panel.samples.value() == 20_000
        assert settings.recent_files()[0] == str(spot_path.resolve())
        assert [a.text() for a in w2.recent_menu.actions()][0] == "spot.obj"
    finally:
        w2.close()


def test_widgets_round_trip_settings(qapp, app_tmp):
    from inrview.app.common.dialogs import MeshExportDialog, ScreenshotDialog
    from inrview.app.common.settings import Settings
    from inrview.app.common.slices_panel import SlicesPanel
    from inrview.app.shape.model_panel import ModelPanel
    from inrview.config import FitConfig, SamplingConfig, TrainConfig, model_config

    s = Settings(app_tmp / "widgets.ini")
    cfg = FitConfig(
        model=model_config("siren", width=96, depth=4, omega0=20.0),
        target="occupancy",
        sampling=SamplingConfig(n_samples=123_000),
        train=TrainConfig(batch_size=4096, lr=3e-4),
    )
    p = ModelPanel()
    p.set_config(cfg)
    p.set_budget(seconds=42)
    got = p.config()
    assert got.model == cfg.model and got.target == "occupancy" and got.sampling.n_samples == 123_000
    assert got.train.batch_size == 4096 and got.train.lr == pytest.approx(3e-4) and got.train.seconds == 42
    assert got.train.threads == 1 and p.omega0.isEnabled() and not p.levels.isEnabled()
    p.save(s)
    q = ModelPanel()
    q.restore(s)
    assert q.config() == got
    # dialogs open with what was chosen last time
    d = ScreenshotDialog(s, (800, 600))
    d.width_.setValue(1920)
    d.height_.setValue(1080)
    d.transparent.setChecked(True)
    d.accept()
    assert ScreenshotDialog(s, (800, 600)).values() == (1920, 1080, True)
    m = MeshExportDialog(s)
    m.resolution.setValue(384)
    m.accept()
    assert MeshExportDialog(s).resolution.value() == 384
    # slice sliders map onto the domain in world units
    sp = SlicesPanel()
    sp.set_domain([0, -2, 10], [4, 2, 20])
    sp.set_offset(2, 12.5)
    assert sp.enabled()[0] == pytest.approx(2.0) and sp.offset(2) == pytest.approx(12.5, abs=0.01)


def _run_app(args, app_tmp, small_config, timeout=240):
    """Run `python -m inrview ...` as a user would, with settings that ask for a small, fast network."""
    from inrview.app.common.settings import Settings
    from inrview.app.shape.model_panel import ModelPanel

    ini = app_tmp / "cli.ini"
    if not ini.exists():
        s, p = Settings(ini), ModelPanel()
        small_config(p)
        p.save(s)
        s.sync()
    env = dict(os.environ, INRVIEW_SETTINGS=str(ini), PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "inrview", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_scripted_run_trains_and_saves_screenshot(qapp, app_tmp, spot_path, small_config):
    from PIL import Image

    out = app_tmp / "cli.png"
    r = _run_app(
        [
            str(spot_path),
            "--fit-steps",
            "120",
            "--screenshot",
            str(out),
            "--screenshot-size",
            "400x300",
            "--window-size",
            "800x600",
            "--quit",
        ],
        app_tmp,
        small_config,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    img = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert img.shape == (300, 400, 3)
    r_, g, b = img[..., 0], img[..., 1], img[..., 2]
    surface = (r_ > b + 25) & (g > b + 5) & (r_ > 60)
    assert surface.mean() > 0.02, "no surface in the scripted screenshot"


def test_scripted_run_with_broken_file_exits_2(qapp, app_tmp, small_config):
    bad = app_tmp / "truncated.obj"
    bad.write_text("v 0 0 0\nv 1 0 0\nf 1 2 7\n")
    r = _run_app(
        [str(bad), "--fit-steps", "20", "--quit", "--window-size", "400x300"], app_tmp, small_config, timeout=120
    )
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("inrview: error:")]
    assert len(lines) == 1 and "truncated.obj" in lines[0]
