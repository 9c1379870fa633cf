"""Time-lapse recording: which frames of a run to keep, and writing them as a GIF or MP4.

No Qt here: the shape controller and the image mode offer each new picture with the run's progress (0..1 of
its step or time budget) and the recorder keeps one whenever the progress passes the next of `count` evenly
spaced marks, so that the frames spread over the whole run whatever its length; the last picture of the run
is always kept.
"""

from __future__ import annotations

import numpy as np

#: Frame counts offered by the Record buttons (the default is the first).
DEFAULT_FRAMES = 40


class Recorder:
    """Keeps up to `count` (H, W, 3) uint8 frames spread over one run's progress from `start` (0..1: where
    the run was when recording began) to its end."""

    def __init__(self, count: int = DEFAULT_FRAMES, start: float = 0.0):
        self.count = max(2, int(count))
        self.start = min(max(float(start), 0.0), 1.0)
        self.frames: list[np.ndarray] = []

    def wants(self, progress: float, final: bool = False) -> bool:
        """Whether a picture at this progress (0..1) should be kept (grab it only then: grabbing costs)."""
        if final:
            return True
        mark = self.start + (1.0 - self.start) * len(self.frames) / (self.count - 1)
        return len(self.frames) < self.count - 1 and progress >= mark

    def add(self, frame: np.ndarray, final: bool = False) -> None:
        """Keep a frame (the final one replaces the last kept frame once the count is reached)."""
        if final and len(self.frames) >= self.count:
            self.frames[-1] = frame
        else:
            self.frames.append(frame)

    def offer(self, progress: float, grab, final: bool = False) -> bool:
        """grab() -> (H, W, 3) uint8 is called and kept when the progress asks for a frame; True when kept."""
        if not self.wants(progress, final):
            return False
        self.add(np.asarray(grab(), np.uint8)[..., :3], final)
        return True


def formats() -> str:
    """The save dialog's filters: GIF always, MP4 when imageio-ffmpeg is installed."""
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return "Animated GIF (*.gif)"
    return "Animated GIF (*.gif);;MP4 video (*.mp4)"


def write_frames(path: str, frames: list, fps: float = 10.0) -> int:
    """Write (H, W, 3) uint8 frames as an animated GIF (looping) or an MP4 (by the suffix of `path`);
    returns the number of frames written. (The shared TimelapseWriter of the core replaces this at merge.)"""
    import imageio.v2 as imageio

    same = [np.ascontiguousarray(f[: frames[0].shape[0], : frames[0].shape[1]]) for f in frames]
    if str(path).lower().endswith(".mp4"):
        with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=8, quality=7) as w:
            for f in same:
                w.append_data(f)
    else:
        imageio.mimsave(path, same, duration=1000.0 / fps, loop=0)
    return len(same)
