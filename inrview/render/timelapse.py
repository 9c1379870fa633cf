"""Time-lapse animations: frames in, an animated GIF (imageio) or MP4 (imageio-ffmpeg) out."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InrviewError
from ..io.export import atomic_path
from ..io.formats import TIMELAPSE_FORMATS


def mp4_available() -> bool:
    """Whether MP4 can be written here (imageio-ffmpeg installed, with its ffmpeg binary)."""
    try:
        import imageio_ffmpeg  # deferred: optional, asked only for MP4

        return bool(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError, OSError):
        return False


def as_rgb8(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 from a frame (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), uint8 or float in [0, 1];
    transparency is composited over white."""
    a = np.asarray(frame)
    if a.dtype != np.uint8:
        a = (np.clip(a.astype(np.float64), 0, 1) * 255).round().astype(np.uint8)
    if a.ndim == 2:
        a = a[..., None]
    if a.shape[-1] == 4:
        alpha = a[..., 3:].astype(np.float64) / 255
        a = (a[..., :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8)
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return np.ascontiguousarray(a[..., :3])


class TimelapseWriter:
    """Collects frames and writes them as an animation at `fps` frames per second: `.add(frame)` each
    (any shape as_rgb8 takes; all frames the size of the first), `.close()` writes the file (atomically;
    a GIF loops forever). The path's extension picks the format: .gif or .mp4 (needs imageio-ffmpeg; MP4
    frames are padded to multiples of 16 pixels with their edge colour). Also a context manager."""

    def __init__(self, path: str | os.PathLike, fps: float = 8.0):
        self.path = Path(path)
        self.fps = float(fps)
        self.format = self.path.suffix.lower().lstrip(".")
        if self.format not in TIMELAPSE_FORMATS:
            raise InrviewError(f"{self.path}: a time-lapse is .gif or .mp4, not '.{self.format}'")
        if self.format == "mp4" and not mp4_available():
            raise InrviewError(f"{self.path}: writing MP4 needs imageio-ffmpeg (pip install imageio-ffmpeg)")
        self.frames: list[np.ndarray] = []

    def add(self, frame: np.ndarray) -> None:
        """Append one frame (see as_rgb8); raises InrviewError when its size differs from the first's."""
        a = as_rgb8(frame)
        if self.frames and a.shape != self.frames[0].shape:
            raise InrviewError(
                f"time-lapse frame of {a.shape[1]}x{a.shape[0]} after frames of "
                f"{self.frames[0].shape[1]}x{self.frames[0].shape[0]}"
            )
        self.frames.append(a)

    def __len__(self) -> int:
        return len(self.frames)

    def close(self) -> Path:
        """Write the animation (nothing is written without frames); returns the path."""
        if not self.frames:
            return self.path
        import imageio.v3 as iio  # deferred: kept off the command line's start-up

        with atomic_path(self.path) as tmp:
            if self.format == "gif":
                iio.imwrite(tmp, np.stack(self.frames), extension=".gif", duration=1000.0 / self.fps, loop=0)
            else:
                iio.imwrite(
                    tmp,
                    np.stack([_pad16(f) for f in self.frames]),
                    extension=".mp4",
                    plugin="FFMPEG",
                    fps=self.fps,
                    codec="libx264",
                    macro_block_size=16,
                )
        return self.path

    def __enter__(self) -> TimelapseWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()


def _pad16(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    return np.pad(frame, ((0, -h % 16), (0, -w % 16), (0, 0)), mode="edge")


class FrameSchedule:
    """When to take the frames of a time-lapse of n frames over a training budget (progress 0..1).

    The first frame is taken at the first chance (`start`, e.g. once a surface exists), the last is the
    final result (taken by the caller at the end), and the n - 2 between are spread evenly over the rest
    of the budget: `due(progress)` says whether the next is due."""

    def __init__(self, n: int):
        if n < 2:
            raise ValueError(f"a time-lapse needs at least 2 frames, got {n}")
        self.n = int(n)
        self.start_progress: float | None = None
        self.taken = 0

    def start(self, progress: float) -> None:
        """The first frame was taken at `progress`; the others follow evenly from there."""
        self.start_progress = float(progress)
        self.taken = 1

    def due(self, progress: float) -> bool:
        """Whether a between frame is due at `progress` (counts it as taken when it is)."""
        if self.start_progress is None or self.taken >= self.n - 1:
            return False
        p0 = self.start_progress
        if progress >= p0 + (1 - p0) * self.taken / (self.n - 1):
            self.taken += 1
            return True
        return False
