"""The image mode's worker thread: it owns the ImageSession.

It loads files, drives the trainer's snapshot generator, renders previews (inrview.image.live builds finished
uint8 pictures) and saves exports and checkpoints, all on its own thread, and talks to the GUI through signals.
Everything that reads the network is a command run between two training steps (DESIGN.md's threading rule).
"""

from __future__ import annotations

import time
from pathlib import Path

from PyQt6 import QtCore

from ...errors import InrviewError
from ..common.command_thread import CommandThread


def progress_of(snap, message: str | None = None) -> dict:
    """What the progress signal carries for a trainer snapshot (its own message unless one is given)."""
    return {
        "step": snap.step,
        "elapsed": snap.elapsed,
        "loss": snap.losses.get("mse"),
        "total_steps": snap.total_steps,
        "progress": snap.progress,
        "message": snap.message if message is None else message,
    }


class ImageWorker(CommandThread):
    opened = QtCore.pyqtSignal(object)  # dict: path, size, mode, notices, target picture
    progress = QtCore.pyqtSignal(object)  # dict: step, elapsed, loss, total_steps, progress
    frame = QtCore.pyqtSignal(object)  # inrview.image.live.LiveFrame

    def __init__(self, parent=None):
        super().__init__(parent)
        self.image = None
        self.session = None
        self.loaded = None  # the ImageField of an opened checkpoint (exports before any training)
        self.views = None
        self._upscaled = None  # the fit for exports above the image's size (see _export_session)
        self._last_progress = 0.0
        self._next_preview = 0.0
        # set from the GUI thread (plain attribute swaps), read here
        self.wanted_views: tuple = ("fitted", "error")
        self.progress_interval = 0.1
        self.min_preview_interval = 0.3
        self.max_preview_pixels = 512 * 512

    # == GUI-thread API ===============================================================================
    def open_image(self, path: str) -> None:
        self.stop()
        self.post("open", self._open, str(path))

    def open_checkpoint(self, path: str) -> None:
        """An image checkpoint: its picture (and its source image, when that file is still there)."""
        self.stop()
        self.post("open", self._open_checkpoint, str(path))

    def start_training(self, model_cfg, train_cfg) -> None:
        self.post("train", self._start, model_cfg, train_cfg)

    def stop(self) -> None:
        self._paused = False
        if self.session is not None:
            self.session.stop()

    def refresh(self) -> None:
        """A new frame with the currently wanted views (after the user switched views)."""
        self.post("refresh", self._preview, False)

    def export(self, path: str, width: int, height: int, bit_depth: int = 8, tag: str = "export") -> None:
        self.post(tag, self._export, str(path), int(width), int(height), int(bit_depth))

    def save_checkpoint(self, path: str, tag: str = "checkpoint") -> None:
        """Save the fit (tag: what done/failed name the command, e.g. 'run' for a run's own files)."""
        self.post(tag, self._save_checkpoint, str(path))

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        self.quit_loop()
        return self.wait(timeout_ms) if self.isRunning() else True

    # == the thread ==================================================================================
    def _open(self, path: str):
        from ...image import load_image
        from ...image.views import to_rgb, to_uint8

        self._drain()
        self.state.emit("busy")
        img = load_image(path)
        self.image, self.session, self.views, self.loaded = img, None, None, None
        self.opened.emit(
            {
                "path": path,
                "width": img.width,
                "height": img.height,
                "mode": img.mode,
                "bit_depth": img.bit_depth,
                "notices": list(img.notices),
                "target": to_uint8(to_rgb(img.pixels, img.has_alpha)),
            }
        )
        self.state.emit("idle")
        return f"opened {Path(path).name}: {img.width}x{img.height} {img.mode}, {img.bit_depth}-bit"

    def _open_checkpoint(self, path: str):
        from ...field.image import ImageField
        from ...image.live import ERROR_SCALE, LiveFrame
        from ...image.views import error_view, to_rgb, to_uint8
        from ...metrics import psnr

        self._drain()
        self.state.emit("busy")
        field, head = ImageField.from_checkpoint(path, "cpu")
        fitted = field.straight(field.render())
        img = self._source_of(head, field)
        self.image, self.session, self.views, self.loaded = img, None, None, field
        pictures = {"fitted": to_uint8(to_rgb(fitted, field.has_alpha))}
        target = fitted if img is None else img.pixels
        pictures["target"] = to_uint8(to_rgb(target, field.has_alpha))
        pictures["error"] = to_uint8(error_view(fitted, target, ERROR_SCALE))
        step = int(head.get("trainer", {}).get("step", 0))
        kind = head.get("model", {}).get("kind", "?")
        notices = [f"checkpoint: a {kind} network after {step} steps"]
        notices.append("source image: " + (img.source if img is not None else "not found (shown: the fit)"))
        self.opened.emit(
            {
                "path": path,
                "width": field.width,
                "height": field.height,
                "mode": f"{field.channels}-channel",
                "bit_depth": int(head["image"].get("bit_depth", 8)),
                "notices": notices,
                "target": pictures["target"],
            }
        )
        value = psnr(fitted, target) if img is not None else float("nan")
        self.frame.emit(LiveFrame(step, 0.0, value, float("nan"), pictures, fitted.shape[:2], 0.0, True))
        self.state.emit("idle")
        return f"opened {Path(path).name}: {kind}, {field.width}x{field.height}"

    @staticmethod
    def _source_of(head: dict, field):
        """The image the checkpoint was fitted on, when its file is still there with the same size."""
        from ...image import load_image

        source = str(head.get("image", {}).get("source", ""))
        if not source or not Path(source).is_file():
            return None
        try:
            img = load_image(source)
        except Exception:  # noqa: BLE001 - the source is optional; the fit is shown without it
            return None
        return img if (img.height, img.width) == (field.height, field.width) else None

    def _start(self, model_cfg, train_cfg):
        from ...image import ImageSession
        from ...image.live import LiveViews

        self._drain()
        if self.image is None:
            raise InrviewError("open an image first (drop one here or use Open)")
        self.state.emit("busy")
        device = None if train_cfg.device == "auto" else train_cfg.device
        self.session = ImageSession(self.image, model_cfg, train_cfg, device=device)
        self.views = LiveViews(self.session, self.max_preview_pixels)
        self._gen = self.session.run(report_every=1, preview_interval=None)
        self._paused = False
        self._next_preview = 0.0
        self.state.emit("training")
        return None

    def _step(self) -> None:
        try:
            snap = next(self._gen)
        except StopIteration:
            self._gen = None
            self.state.emit("idle")
            return
        except Exception as err:  # noqa: BLE001 - a failed step ends the run with a message
            self._gen = None
            self.failed.emit("train", f"training failed: {err}")
            self.state.emit("idle")
            return
        now = time.perf_counter()
        if snap.done or now - self._last_progress >= self.progress_interval:
            self._last_progress = now
            self.progress.emit(progress_of(snap))
        if snap.done or now >= self._next_preview:
            self._preview(snap.done, snap.step, snap.elapsed)
        if snap.done:
            self._gen = None
            self.state.emit("idle")

    def _preview(self, done: bool = False, step: int | None = None, elapsed: float | None = None):
        if self.views is None:
            return None
        st = self.session.trainer.state
        f = self.views.frame(
            self.wanted_views, st.step if step is None else step, st.elapsed if elapsed is None else elapsed, done=done
        )
        # previews take at most about a third of the time: wait twice as long as the last one took
        self._next_preview = time.perf_counter() + max(self.min_preview_interval, 2.0 * f.seconds)
        self.frame.emit(f)
        return None

    def _export(self, path: str, width: int, height: int, bit_depth: int):
        if self.session is None and self.loaded is not None:  # an opened checkpoint, not trained here
            self.loaded.save(path, size=(width, height), bit_depth=bit_depth)
            return f"exported {width}x{height} to {path} from the checkpoint"
        if self.session is None:
            raise InrviewError("nothing to export yet: train first")
        t0 = time.perf_counter()
        session, how = self._export_session(height, width)
        session.field.save(path, size=(width, height), bit_depth=bit_depth)
        return f"exported {width}x{height} to {path}{how} in {time.perf_counter() - t0:.1f} s"

    def _export_session(self, height: int, width: int):
        """(session, how) that renders a height x width export: the current fit, or above the image's size a
        fit for upscaling (inrview.config.image.upscaling_choice, as `inrview image fit --scale` does), trained here
        once per image unless the current fit already is one."""
        from ...config.image import upscaling_choice
        from ...image import upscaling_session

        choice = upscaling_choice(self.image.shape[:2], (height, width))
        if (
            choice is None
            or getattr(self.session.task, "footprint", None) == choice.footprint
            and self.session.model_cfg.kind == choice.kind
        ):
            return self.session, ""
        if self._upscaled is None or self._upscaled.image is not self.image:
            self.state.emit("busy")
            dev = self.session.train_cfg.device
            self._upscaled = upscaling_session(self.image, choice, device=None if dev == "auto" else dev)
            for snap in self._upscaled.run(report_every=10, preview_interval=None):
                self.progress.emit(progress_of(snap, f"export: fitting for upscaling ({choice.describe()})"))
            self.state.emit("training" if self._gen is not None else "idle")
        return self._upscaled, f" from a fit for upscaling ({choice.describe()})"

    def _save_checkpoint(self, path: str):
        if self.session is None:
            raise InrviewError("nothing to save yet: train first")
        self.session.save_checkpoint(path)
        return f"saved checkpoint {path}"
