"""The image mode, a tab of the window: pictures and image checkpoints dropped or opened anywhere in the
window come here.

The controller owns the image worker (worker.py: the ImageSession on its own thread), answers the panel's
buttons (panel.py), opens the dialogs, draws what the worker sends (pictures, curves, the pixel read-out),
records time-lapses and ends the worker when the window closes. It also runs without a window (window=None:
the tab alone, e.g. in tests on Qt's offscreen platform). The image mode is optional: when it cannot be built
the 3D window still opens (with a warning in the log) and pictures are not offered in the open dialog.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt6 import QtCore, QtWidgets

from ..common.controller import Controller
from ..common.timelapse import Recorder, formats, write_frames
from ..space.state import checkpoint_task  # the header's task, read without the tensors
from . import IMAGE_SUFFIXES


class ImageController(Controller):
    TAB = ("image", "2D images")

    def __init__(self, window=None):
        super().__init__(window)
        self.panel = None
        self.worker = None
        self.path: str | None = None
        self.image_size: tuple[int, int] | None = None  # (width, height)
        self.target = None  # the full-size target picture (uint8), for the read-out
        self.last_frame = None
        self.psnr_history: list[tuple[int, float]] = []
        self.recorder: Recorder | None = None
        self.run_progress = 0.0
        self.saved_timelapses: list[str] = []
        self.state_name = "idle"
        self._shut = False
        try:
            self._build()
        except Exception as err:  # the image mode is optional; the 3D window must still open
            self.panel = self.worker = None
            if window is None:
                raise
            message = f"image mode unavailable: {err}"
            QtCore.QTimer.singleShot(0, lambda: window.log("warning", message))

    def _build(self) -> None:
        from .panel import ImagePanel
        from .worker import ImageWorker

        self.panel, self.worker = p, w = ImagePanel(), ImageWorker()
        self.connect_named(w, "opened", "progress", "frame", "state")
        for signal, slot in (
            (w.done, lambda task, msg: task != "run" and self._status(msg)),  # a run's files: the Runs dock's
            (w.failed, lambda task, msg: task != "run" and self._status(f"{task} failed: {msg}")),
            (p.open_clicked, self._ask_open),
            (p.train_clicked, self.start_training),
            (p.pause_clicked, self._toggle_pause),
            (p.stop_clicked, w.stop),
            (p.export_clicked, self._ask_export),
            (p.checkpoint_clicked, self._ask_checkpoint),
            (p.view_changed, self._view_changed),
            (p.file_dropped, self.open_image),
            (p.hovered, self.read_out),
            (p.scale.valueChanged, lambda *_: p.scale_to(self.image_size)),
        ):
            signal.connect(slot)
        app = QtWidgets.QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)  # a worker still running at exit aborts the process
        w.start()
        self._on_state("idle")

    # == the window's hooks ============================================================================
    @property
    def available(self) -> bool:
        return self.panel is not None

    def tab(self):
        if self.panel is None:
            return None
        scroll = QtWidgets.QScrollArea()  # its own minimum size must not set the window's
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        return scroll

    def accepts(self, path: str) -> bool:
        return self.available and (Path(path).suffix.lower() in IMAGE_SUFFIXES or checkpoint_task(path) == "image")

    def open_path(self, path: str) -> bool:
        self.open_image(path)
        if self.window is not None:
            self.window.add_recent(path)
        return True

    def shutdown(self) -> None:
        """Stop training, end the worker thread and wait for it (idempotent)."""
        if self._shut or self.worker is None:
            return
        self._shut = True
        self.worker.shutdown()

    # == commands ======================================================================================
    def open_image(self, path: str) -> None:
        """A picture to fit, or an image checkpoint to look at (and export)."""
        self.path = str(path)
        self._status(f"opening {path}")
        if checkpoint_task(self.path) == "image":
            self.worker.open_checkpoint(self.path)
        else:
            self.worker.open_image(self.path)

    def start_training(self) -> None:
        self.panel.scales = {}  # the new fit's come with its first frame
        self.psnr_history.clear()
        self.panel.curves.clear()
        self.run_progress = 0.0
        p = self.panel
        self.recorder = Recorder(p.record_frames.value()) if p.record.isChecked() else None
        self.worker.start_training(p.model_config(self.image_size), p.train_config())

    def export_to(self, path: str, width: int | None = None, height: int | None = None) -> None:
        p = self.panel
        depth = 16 if p.bits16.isChecked() else 8
        self.worker.export(path, width or p.out_w.value(), height or p.out_h.value(), depth)

    def current_view(self) -> str:
        return self.panel.current_view()

    def set_view(self, name: str) -> None:
        self.panel.set_view(name)

    def _toggle_pause(self) -> None:
        (self.worker.resume if self.worker.paused else self.worker.pause)()

    # == what the worker sends =========================================================================
    def _on_opened(self, info: dict) -> None:
        p = self.panel
        self.image_size = (info["width"], info["height"])
        self.target = info["target"]
        notes = "".join(f"\n{n}" for n in info["notices"])
        p.info.setText(
            f"{Path(info['path']).name}\n{info['width']} x {info['height']} {info['mode']}, "
            f"{info['bit_depth']}-bit{notes}"
        )
        self.last_frame = None
        self.psnr_history.clear()
        p.scales = {}
        p.curves.clear()
        p.set_view("target")
        p.set_image_size(*self.image_size)
        p.view.set_picture(info["target"])
        p.views["target"].set_picture(info["target"])
        p.psnr_label.setText("PSNR –")
        p.scale_to(self.image_size)

    def _on_progress(self, d: dict) -> None:
        p = self.panel
        p.progress.setValue(int(1000 * min(1.0, d["progress"])))
        self.run_progress = d["progress"]
        loss = d.get("loss")
        p.step_label.setText(f"step {d['step']}  {d['elapsed']:.1f} s" + (f"  mse {loss:.2e}" if loss else ""))
        p.curves.add_loss(d["step"], loss)
        if d.get("message"):
            self._status(d["message"])

    def _on_frame(self, f) -> None:
        p = self.panel
        self.last_frame = f
        if not p.scales and self.worker.views is not None:  # the first frame of a fit: its colour scales
            p.update_color_bar(self._scales())
        self.psnr_history.append((f.step, f.psnr))
        p.curves.add_psnr(f.step, f.psnr)
        ssim_txt = f"  SSIM {f.ssim:.3f}" if np.isfinite(f.ssim) else ""
        p.psnr_label.setText(f"PSNR {f.psnr:.2f} dB{ssim_txt}" if np.isfinite(f.psnr) else "PSNR –")
        if self.current_view() == "target" and (f.step <= 1 or self.worker.session is None):
            p.set_view("fitted")
        self._show()
        if self.recorder is not None and "fitted" in f.pictures:
            self.recorder.offer(1.0 if f.done else self.run_progress, lambda: _enlarged(f.pictures["fitted"]), f.done)
            if f.done:
                self._save_timelapse()
        if f.done and self.worker.session is not None:
            self._status(f"done: {f.step} steps in {f.elapsed:.1f} s, PSNR {f.psnr:.2f} dB")

    def _show(self) -> None:
        f, p = self.last_frame, self.panel
        if f is None:
            return
        name = self.current_view()
        if name in f.pictures:
            p.view.set_picture(f.pictures[name])
        for n in ("target", "fitted", "error"):
            if n in f.pictures:
                p.views[n].set_picture(f.pictures[n])

    def _view_changed(self, name: str) -> None:
        self.worker.wanted_views = tuple({"fitted", "error", name})
        if self.last_frame is not None and name not in self.last_frame.pictures and self.worker.session is not None:
            self.worker.refresh()  # derivative views are computed only when shown
        self.panel.update_color_bar(self._scales())
        self._show()

    def _scales(self) -> dict:
        """The derivative views' colour scales of the current fit (set once per session by its LiveViews)."""
        views = self.worker.views
        return {} if views is None else {"gradient": views.grad_scale, "laplacian": views.lap_scale}

    def _on_state(self, state: str) -> None:
        self.state_name = state
        self.panel.set_state(state)

    def read_out(self, x: int, y: int) -> str:
        """The pixel (x, y) of the full-size image: its fitted value, target and error, in the read-out line."""
        text = "Point at the picture for its pixel values"
        if x >= 0 and self.image_size is not None:
            text = f"pixel ({x}, {y})"
            fitted = self._value("fitted", x, y)
            target = self._value("target", x, y)
            if fitted is not None:
                text += f"   fit {_rgb(fitted)}"
            if target is not None:
                text += f"   target {_rgb(target)}"
            if fitted is not None and target is not None:
                err = np.abs(fitted.astype(float) - target.astype(float)).mean() / 255.0
                text += f"   error {err:.4f}"
        self.panel.readout.setText(text)
        return text

    def _value(self, name: str, x: int, y: int) -> np.ndarray | None:
        pics = self.last_frame.pictures if self.last_frame is not None else {}
        pic = pics.get(name, self.target if name == "target" else None)
        if pic is None:
            return None
        w, h = self.image_size  # previews may be smaller than the image: the same place, scaled
        return pic[min(pic.shape[0] - 1, y * pic.shape[0] // h), min(pic.shape[1] - 1, x * pic.shape[1] // w)]

    # == dialogs =======================================================================================
    def _ask_open(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.panel,
            "Open image or image checkpoint",
            "",
            "Images and image checkpoints (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.safetensors)",
        )
        if path:
            self.open_path(path)

    def _ask_export(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.panel, "Export image", "fitted.png", "Images (*.png *.jpg *.tif *.bmp)"
        )
        if path:
            self.export_to(path)

    def _ask_checkpoint(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.panel, "Save checkpoint", "image.safetensors", "Checkpoints (*.safetensors)"
        )
        if path:
            self.worker.save_checkpoint(path)

    def _save_timelapse(self) -> None:
        rec, self.recorder = self.recorder, None
        path = self.ask_timelapse_path() if len(rec.frames) >= 2 else None
        if path:
            write_frames(path, rec.frames)
            self.saved_timelapses.append(path)
            self._status(f"saved a time-lapse of {len(rec.frames)} frames to {path}")

    def ask_timelapse_path(self) -> str | None:
        from ..common.dialogs import save_path
        from ..common.settings import Settings

        settings = self.window.settings if self.window is not None else Settings()
        stem = Path(self.path).stem if self.path else "image"
        return save_path(self.panel, settings, "Save time-lapse", formats(), f"{stem}-timelapse.gif", "timelapse")

    def _status(self, text: str) -> None:
        self.panel.status.setText(text)


def _rgb(v: np.ndarray) -> str:
    return "(" + ", ".join(str(int(c)) for c in np.atleast_1d(v)) + ")"


def _enlarged(rgb: np.ndarray, short_side: int = 256) -> np.ndarray:
    """A small picture enlarged by an integer factor (pixels kept sharp) to about `short_side` pixels."""
    k = max(1, short_side // max(1, min(rgb.shape[:2])))
    return np.repeat(np.repeat(rgb, k, axis=1), k, axis=0) if k > 1 else rgb
