"""`--timelapse OUT.gif|OUT.mp4`: record a field as it learns, a frame now and then over the budget, the last
frame the final result (a surface ray-cast from a fixed camera or a slow orbit, or an image's rendering)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import InrviewError
from ..io.formats import TIMELAPSE_FORMATS
from ..render.raycast import orbit_camera, render_mesh
from ..render.timelapse import FrameSchedule, TimelapseWriter, as_rgb8, mp4_available
from .checks import check_output
from .common import non_negative_float, positive_int

#: Frames of a time-lapse unless --timelapse-frames says otherwise.
TIMELAPSE_FRAMES = 30
#: Size (width, height) of a shape time-lapse, and the longest side of an image time-lapse, in pixels.
FRAME_SIZE = (400, 320)
#: Cells per side of the surfaces a shape time-lapse shows while training (the last frame: the final mesh).
FRAME_RESOLUTION = 48


def add_timelapse_args(p, orbit: bool = True) -> None:
    """--timelapse, --timelapse-frames (and --timelapse-orbit for shapes)."""
    g = p.add_argument_group("time-lapse")
    g.add_argument("--timelapse", metavar="OUT", help="record the fit as it learns: an animated .gif or .mp4")
    g.add_argument(
        "--timelapse-frames",
        type=positive_int,
        default=TIMELAPSE_FRAMES,
        metavar="N",
        help=f"frames of the time-lapse, spread over the budget, at least 2 (default {TIMELAPSE_FRAMES})",
    )
    if orbit:
        g.add_argument(
            "--timelapse-orbit",
            type=non_negative_float,
            default=0.0,
            metavar="DEG",
            help="turn the camera this many degrees per frame (default 0: a fixed camera)",
        )


def check_timelapse(a) -> None:
    """Refuse a time-lapse path, extension or frame count that cannot work, before any work starts."""
    if not getattr(a, "timelapse", None):
        return
    check_output(a.timelapse, "--timelapse", TIMELAPSE_FORMATS)
    if a.timelapse.lower().endswith(".mp4") and not mp4_available():
        raise InrviewError(f"--timelapse {a.timelapse}: writing MP4 needs imageio-ffmpeg (pip install imageio-ffmpeg)")
    if a.timelapse_frames < 2:
        raise InrviewError(f"--timelapse-frames {a.timelapse_frames}: a time-lapse needs at least 2 frames")


class Recorder:
    """Feeds on trainer snapshots and takes a frame (frame() -> (H, W, 3) uint8, or None when there is
    nothing to show yet) when one is due: the first as soon as frame() gives one, then evenly over the rest of
    the budget (FrameSchedule); `finish(last)` adds the final frame, `save(path)` writes the animation.

    The animation has exactly the frames asked for: a frame due when there is nothing new to show (the surface
    vanished for a moment) holds the previous picture, and the frames still missing when the budget ends are
    taken then. Every frame but the final one carries a thin bar along its bottom edge showing how far
    through the budget it was taken (so no two frames are alike, and a GIF keeps each of them)."""

    def __init__(self, frames: int, frame: Callable[[], np.ndarray | None], fps: float = 8.0):
        self.schedule = FrameSchedule(frames)
        self.frame = frame
        self.fps = fps
        self.frames: list[np.ndarray] = []
        self._raw: np.ndarray | None = None  # the last picture taken, without its bar
        self._looks = 0  # attempts at a first frame, at most 4 per frame interval

    def report_every(self, train, default: int = 10) -> int:
        """Steps between the trainer's reports that let every frame be taken on time: a frame can only be taken
        at a report, so a budget of S steps reports at least twice per frame (every step for a time budget,
        whose steps are not known ahead)."""
        steps = getattr(train, "steps", None)
        if getattr(train, "seconds", None) is not None or not steps:
            return 1
        return max(1, min(default, steps // (2 * self.schedule.n)))

    def __call__(self, snap) -> None:
        """Take a frame if one is due at this Snapshot's progress."""
        if snap.done:
            return
        if self.schedule.start_progress is None:
            if snap.progress * 4 * self.schedule.n < self._looks:
                return
            self._looks += 1
            if self._take():
                self.schedule.start(snap.progress)
        elif self.schedule.due(snap.progress):
            self._take(hold=True)

    def _take(self, hold: bool = False) -> bool:
        img = self.frame()
        if img is None and hold:
            img = self._raw
        if img is None:
            return False
        self._raw = img
        n, k = self.schedule.n, len(self.frames)
        p0 = self.schedule.start_progress or 0.0
        self.frames.append(_with_bar(img, p0 + (1.0 - p0) * k / (n - 1)))
        return True

    def finish(self, last: np.ndarray) -> None:
        """Add the frames still missing (taken now), then the final frame ((H, W, 3) uint8, the result)."""
        while len(self.frames) < self.schedule.n - 1:
            if not self._take(hold=True):
                self._raw = last
        self.frames.append(last)

    def save(self, path) -> None:
        """Write the frames as a GIF or MP4 at path (its extension decides)."""
        writer = TimelapseWriter(path, self.fps)
        for f in self.frames:
            writer.add(f)
        writer.close()


def _with_bar(img: np.ndarray, fraction: float) -> np.ndarray:
    """A copy of the (H, W, 3 or 4) frame with a 2-pixel bar along its bottom edge, `fraction` of its width."""
    out = np.array(img, copy=True)
    h, w = out.shape[:2]
    filled = int(round(min(1.0, max(0.0, fraction)) * w))
    out[h - 2 :, :, :3] = 40
    out[h - 2 :, :filled, :3] = (235, 170, 60)
    return out


def shape_recorder(session, frames: int, orbit: float = 0.0) -> tuple[Recorder, Callable]:
    """(Recorder of a ShapeSession's surface at FRAME_RESOLUTION, render(mesh) -> frame for the final one).

    The camera looks at the input's bounding box (the same view in every frame), turning `orbit` degrees
    per frame."""
    v = session.geometry.vertices
    lo, hi = v.min(axis=0), v.max(axis=0)
    shots: list = []

    def render(vertices, faces) -> np.ndarray:
        shots.append(None)
        return render_mesh(vertices, faces, FRAME_SIZE, orbit_camera(lo, hi, 145.0 + orbit * (len(shots) - 1)))

    def frame() -> np.ndarray | None:
        pv = session.preview(FRAME_RESOLUTION)
        return None if pv["faces"] is None else render(pv["vertices"], pv["faces"])

    return Recorder(frames, frame), lambda mesh: render(mesh.vertices, mesh.faces)


def image_recorder(session, frames: int) -> tuple[Recorder, Callable]:
    """(Recorder of an ImageSession's rendering, render() -> the final frame), at most FRAME_SIZE[0] pixels
    on the longer side."""
    h, w = session.image.height, session.image.width
    f = min(1.0, FRAME_SIZE[0] / max(h, w))
    size = (max(1, round(h * f)), max(1, round(w * f)))

    def frame() -> np.ndarray:
        return as_rgb8(session.field.straight(session.field.render(*size)))

    return Recorder(frames, frame), frame
