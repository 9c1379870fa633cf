"""Scripted runs of every kind of file the window opens, and options that stay with their run.

Each runs `python -m inrview FILE --screenshot PNG --quit` as a user would, and checks the status and the
picture. Wall time on a shared 2-core machine says little, so the tests assert what the old failure looked
like instead: a run that waited for its give-up timer ended with status 1 and no picture."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.gui


def run_app(*args, settings, timeout=120):
    env = dict(os.environ, INRVIEW_SETTINGS=str(settings), PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "inrview", *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout
    )
    return r, time.perf_counter() - t0


def error_lines(r) -> list[str]:
    return [ln for ln in r.stderr.splitlines() if ln.startswith("inrview: error:")]


@pytest.fixture(scope="module")
def space_file(tmp_path_factory):
    from inrview.config import SamplingConfig
    from inrview.models.latent import LatentConfig
    from inrview.space import SpaceFit
    from inrview.training.space import SpaceTrainConfig
    from tests.space_shapes import RADII, write_collection

    tmp = tmp_path_factory.mktemp("scripted_space")
    os.environ["INRVIEW_CACHE_DIR"] = str(tmp / "cache")
    write_collection(tmp / "shapes", RADII)
    small = SamplingConfig(n_samples=6000, mix=(0.2, 0.4, 0.3, 0.15))
    fit = SpaceFit(
        tmp / "shapes",
        SpaceTrainConfig(epochs=60, shapes_per_step=4, device="cpu"),
        LatentConfig(latent_dim=8, width=64, depth=2),
        sampling=small,
    )
    for _ in fit.run(report_every=20):
        pass
    fit.save(tmp / "space.safetensors")
    return tmp / "space.safetensors"


def test_a_shape_space_is_scripted(space_file, tmp_path):
    out = tmp_path / "space.png"
    r, seconds = run_app(
        space_file, "--screenshot", out, "--window-size", "800x600", "--quit", settings=tmp_path / "s.ini"
    )
    assert r.returncode == 0, r.stderr[-2000:]
    img = np.asarray(Image.open(out).convert("RGB")).astype(int)
    r_, g, b = img[..., 0], img[..., 1], img[..., 2]
    assert ((r_ > b + 25) & (g > b + 5) & (r_ > 60)).mean() > 0.02, "no surface in the space's screenshot"


def test_training_a_space_from_the_window_is_refused_at_once(space_file, tmp_path):
    r, seconds = run_app(space_file, "--fit-steps", 5, "--quit", settings=tmp_path / "s.ini")
    assert r.returncode == 2 and len(error_lines(r)) == 1 and "inrview space fit" in r.stderr
    assert seconds < 60  # refused before the window (or Qt) loads


def test_a_picture_is_scripted_and_trained(tmp_path):
    import inrview

    picture = inrview.demo_image()
    shown = tmp_path / "picture.png"
    r, seconds = run_app(
        picture, "--screenshot", shown, "--window-size", "800x600", "--quit", settings=tmp_path / "s.ini"
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert Image.open(shown).size[0] > 200
    trained = tmp_path / "trained.png"
    r, seconds = run_app(picture, "--fit-steps", 5, "--screenshot", trained, "--quit", settings=tmp_path / "s.ini")
    assert r.returncode == 0, r.stderr[-2000:]
    assert trained.stat().st_size > 1000


def test_an_image_checkpoint_is_scripted(tmp_path):
    import inrview

    ckpt = tmp_path / "astro.safetensors"
    fit = subprocess.run(
        [sys.executable, "-m", "inrview", "image", "fit", inrview.demo_image(), "-o", tmp_path / "f.png"]
        + ["--steps", "5", "--checkpoint", str(ckpt), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert fit.returncode == 0, fit.stderr
    out = tmp_path / "ckpt.png"
    r, _ = run_app(ckpt, "--screenshot", out, "--quit", settings=tmp_path / "s.ini")
    assert r.returncode == 0, r.stderr[-2000:]
    assert out.stat().st_size > 1000


def test_command_line_options_leave_the_settings_file_unchanged(qapp, tmp_path, spot_path, small_config):
    from inrview.app.common.settings import Settings
    from inrview.app.shape.model_panel import ModelPanel

    ini = tmp_path / "mine.ini"
    s, p = Settings(ini), ModelPanel()
    small_config(p)
    p.save(s)
    s.add_recent(str(tmp_path / "earlier.obj"))
    s.sync()
    before = ini.read_bytes()
    out = tmp_path / "s.png"
    r, _ = run_app(
        spot_path, "--fit-steps", 7, "--model", "siren", "--screenshot", out, "--quit", "--settings", ini, settings=ini
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert out.exists() and ini.read_bytes() == before


def test_options_for_an_open_window_are_not_saved(qapp, tmp_path, window, small_config, wait):
    from inrview.app.run_settings import ForThisRun

    w = window(tmp_path / "open.ini", (700, 500))
    small_config(w.shape.model_panel, steps=123)
    w.save_settings()
    saved = w.settings.get("train/config", "")
    this_run = ForThisRun(w)
    panel = w.shape.model_panel
    panel.kind.setCurrentIndex(panel.kind.findData("siren"))  # as `--model siren --fit-steps 7` would
    panel.set_budget(steps=7)
    this_run.applied()
    w.save_settings()
    assert w.settings.get("train/config", "") == saved and w.settings.get("train/budget_value", 0) == 123
    panel.width_.setValue(48)  # changed by hand afterwards: that choice is saved
    w.close()
    wait(lambda: not w.worker.isRunning(), 30, "the worker to end")
    assert '"width": 48' in w.settings.get("train/config", "")


def test_fit_seconds_count_from_the_command_not_from_the_first_step(qapp, tmp_path, window, wait):
    """A command that began 60 s ago with --fit-seconds 30 has no seconds left once the picture is open: its
    training stops at once (counted from the first step, it would train for 30 s)."""
    from argparse import Namespace

    from inrview.app.scripted import ScriptedRun
    from inrview.image import demo_image, load_image, save_image

    picture = save_image(tmp_path / "p.png", load_image(demo_image()).crop(96, 96, 40, 48).pixels)
    w = window(tmp_path / "secs.ini", (700, 500))
    args = Namespace(fit_seconds=30.0, fit_steps=None, quit=False, screenshot=None, window_screenshot=None)
    args.started = time.perf_counter() - 60.0
    script = ScriptedRun(w, args)
    w.open_path(str(picture))
    wait(lambda: script.finished, 60, "the scripted fit to end")
    frame = w.image.last_frame
    # stopped at once, not after the 30 s it would train counted from its first step
    assert frame.done and frame.step >= 1 and frame.elapsed < 0.5 * args.fit_seconds, (frame.step, frame.elapsed)
    w.close()
