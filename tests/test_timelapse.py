"""Time-lapse: the CPU renderer, the GIF/MP4 writer, and `fit` / `image fit --timelapse` end to end."""

from __future__ import annotations

import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from inrview.errors import InrviewError
from inrview.render import FrameSchedule, TimelapseWriter, mp4_available, orbit_camera, render_mesh


def test_render_is_upright_and_shaded():
    """A triangle at +x +y seen from +z lands in the picture's top right; misses are the background."""
    v = np.array([[0.5, 0.5, 0], [1, 0.5, 0], [1, 1, 0]], float)
    cam = orbit_camera(np.full(3, -1.0), np.ones(3), azimuth_deg=0, elevation_deg=0)
    img = render_mesh(v, np.array([[0, 1, 2]]), size=(40, 30), camera=cam)
    assert img.shape == (30, 40, 3) and img.dtype == np.uint8
    rows, cols = np.nonzero((img < 250).any(axis=-1))
    assert rows.max() < 15 and cols.min() >= 20
    assert (img[0, 0] == 255).all()
    empty = render_mesh(np.zeros((0, 3)), np.zeros((0, 3), int), size=(8, 6))
    assert empty.shape == (6, 8, 3) and (empty == 255).all()


@pytest.mark.parametrize("ext", ["gif", "mp4"])
def test_writer_round_trip(tmp_path, ext):
    if ext == "mp4" and not mp4_available():
        pytest.skip("imageio-ffmpeg is not installed")
    frames = [np.full((30, 50, 3), 20 * i, np.uint8) for i in range(6)]
    with TimelapseWriter(tmp_path / f"t.{ext}", fps=5) as w:
        for f in frames:
            w.add(f)
    back = np.stack(list(iio.imiter(tmp_path / f"t.{ext}")))
    assert len(back) == 6
    assert abs(float(back[-1][:30, :50].mean()) - 100) < 3  # MP4 frames are padded to 32x64, lossy
    with pytest.raises(InrviewError):
        TimelapseWriter(tmp_path / "t.avi")


def test_schedule_spreads_frames_after_the_first():
    s = FrameSchedule(5)
    assert not s.due(0.5)  # nothing before the first frame
    s.start(0.2)
    taken = [p for p in np.linspace(0.2, 1.0, 81) if s.due(p)]
    assert np.allclose(taken, [0.4, 0.6, 0.8]) and not s.due(1.0)  # the 5th is the caller's final frame


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "inrview", *map(str, args)], capture_output=True, text=True, timeout=600
    )


def _timelapse_fit(mesh, out, gif, resolution: int, frames: int) -> subprocess.CompletedProcess:
    """`inrview fit` of mesh for 120 steps on 20k samples (one thread) with a time-lapse of `frames` frames."""
    return _cli(
        "fit", mesh, "-o", out, "--steps", "120", "--samples", "20000", "--resolution", resolution,
        "--threads", "1", "--timelapse", gif, "--timelapse-frames", frames, "--quiet",
    )  # fmt: skip


def test_fit_timelapse_gif(demo_shape, tmp_path):
    """>= 10 frames, each differing from the one before, the last the final surface from the same camera."""
    gif, out = tmp_path / "t.gif", tmp_path / "s.ply"
    r = _timelapse_fit(demo_shape, out, gif, 64, 12)
    assert r.returncode == 0, r.stderr
    frames = iio.imread(gif)
    assert len(frames) >= 10
    diffs = [np.abs(frames[i].astype(int) - frames[i + 1]).mean() for i in range(len(frames) - 1)]
    assert min(diffs) > 0.01
    import trimesh

    from inrview.io.loaders import load

    final = trimesh.load(out, process=False)
    v = load(demo_shape).vertices
    expected = render_mesh(final.vertices, final.faces, (400, 320), orbit_camera(v.min(0), v.max(0)))
    assert np.abs(frames[-1][..., :3].astype(int) - expected).mean() < 2.0  # GIF palette rounding only
    assert np.abs(frames[0][..., :3].astype(int) - expected).mean() > 2.0


def test_image_fit_timelapse(tmp_path):
    import inrview

    if not mp4_available():
        pytest.skip("imageio-ffmpeg is not installed")
    mp4 = tmp_path / "t.mp4"
    r = _cli(
        "image",
        "fit",
        inrview.demo_image(),
        "-o",
        tmp_path / "a.png",
        "--steps",
        "200",
        "--threads",
        "1",
        "--timelapse",
        mp4,
        "--timelapse-frames",
        "10",
        "--quiet",
        "--preview-every",
        "0",
    )
    assert r.returncode == 0, r.stderr
    frames = np.stack(list(iio.imiter(mp4)))
    assert len(frames) == 10
    final = iio.imread(tmp_path / "a.png")[..., :3].astype(float)
    err = [np.abs(f[: final.shape[0], : final.shape[1]].astype(float) - final).mean() for f in (frames[0], frames[-1])]
    assert err[-1] < err[0] / 2  # the picture sharpens towards the result


def test_timelapse_options_are_checked_first(demo_shape, tmp_path):
    r = _cli("fit", demo_shape, "-o", tmp_path / "s.ply", "--timelapse", tmp_path / "t.avi")
    assert r.returncode == 2 and "gif, mp4" in r.stderr and r.stderr.count("\n") == 1
    r = _cli("fit", demo_shape, "-o", tmp_path / "s.ply", "--timelapse", tmp_path / "t.gif", "--timelapse-frames", "1")
    assert r.returncode == 2 and "at least 2" in r.stderr


def test_timelapse_has_exactly_the_frames_asked_for(demo_shape, tmp_path):
    """30 frames over 120 steps (reports every 10 steps used to allow only 12), each frame distinct."""
    gif = tmp_path / "t.gif"
    r = _timelapse_fit(demo_shape, tmp_path / "s.ply", gif, 48, 30)
    assert r.returncode == 0, r.stderr
    frames = iio.imread(gif)
    assert len(frames) == 30
    bars = [int((f[-1, :, 0] > 200).sum()) for f in frames[:-1]]  # the progress bar grows frame by frame
    assert all(b1 > b0 for b0, b1 in zip(bars, bars[1:]))
