"""The desktop app's Image mode: drop a picture, watch a network learn it, look at its error and its
derivatives, export it at any size.

Threading (DESIGN.md): widgets live on the GUI thread only. `ImageWorker` owns the ImageSession; it loads
files, drives the trainer's snapshot generator, renders previews (inrview.image.live builds finished uint8
pictures) and saves exports and checkpoints, all on its own thread, and talks to the GUI through signals.
Everything that reads the network is a command run between two training steps.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from ..config import FAMILY_SIZES, TrainConfig
from ..errors import InrviewError
from .command_thread import CommandThread

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


class ImageWorker(CommandThread):
    opened = QtCore.pyqtSignal(object)  # dict: path, size, mode, notices, target picture
    progress = QtCore.pyqtSignal(object)  # dict: step, elapsed, loss, total_steps, progress
    frame = QtCore.pyqtSignal(object)  # inrview.image.live.LiveFrame

    def __init__(self, parent=None):
        super().__init__(parent)
        self.image = None
        self.session = None
        self.views = None
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

    def start_training(self, model_cfg, train_cfg) -> None:
        self.post("train", self._start, model_cfg, train_cfg)

    def stop(self) -> None:
        self._paused = False
        if self.session is not None:
            self.session.stop()

    def refresh(self) -> None:
        """A new frame with the currently wanted views (after the user switched views)."""
        self.post("refresh", self._preview, False)

    def export(self, path: str, width: int, height: int, bit_depth: int = 8) -> None:
        self.post("export", self._export, str(path), int(width), int(height), int(bit_depth))

    def save_checkpoint(self, path: str) -> None:
        self.post("checkpoint", self._save_checkpoint, str(path))

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        self.quit_loop()
        return self.wait(timeout_ms) if self.isRunning() else True

    # == the thread ==================================================================================
    def _open(self, path: str):
        from ..image import load_image
        from ..image.views import to_rgb, to_uint8

        self._drain()
        self.state.emit("busy")
        img = load_image(path)
        self.image, self.session, self.views = img, None, None
        self.opened.emit({"path": path, "width": img.width, "height": img.height, "mode": img.mode,
                          "bit_depth": img.bit_depth, "notices": list(img.notices),
                          "target": to_uint8(to_rgb(img.pixels, img.has_alpha))})
        self.state.emit("idle")
        return f"opened {Path(path).name}: {img.width}x{img.height} {img.mode}, {img.bit_depth}-bit"

    def _start(self, model_cfg, train_cfg):
        from ..image import ImageSession
        from ..image.live import LiveViews

        self._drain()
        if self.image is None:
            raise InrviewError("open an image first (drop one here or use Open)")
        self.state.emit("busy")
        self.session = ImageSession(self.image, model_cfg, train_cfg, device=None if train_cfg.device == "auto" else train_cfg.device)
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
            self.progress.emit({"step": snap.step, "elapsed": snap.elapsed, "loss": snap.losses.get("mse"),
                                "total_steps": snap.total_steps, "progress": snap.progress, "message": snap.message})
        if snap.done or now >= self._next_preview:
            self._preview(snap.done, snap.step, snap.elapsed)
        if snap.done:
            self._gen = None
            self.state.emit("idle")

    def _preview(self, done: bool = False, step: int | None = None, elapsed: float | None = None):
        if self.views is None:
            return None
        st = self.session.trainer.state
        f = self.views.frame(self.wanted_views, st.step if step is None else step,
                             st.elapsed if elapsed is None else elapsed, done=done)
        # previews take at most about a third of the time: wait twice as long as the last one took
        self._next_preview = time.perf_counter() + max(self.min_preview_interval, 2.0 * f.seconds)
        self.frame.emit(f)
        return None

    def _export(self, path: str, width: int, height: int, bit_depth: int):
        if self.session is None:
            raise InrviewError("nothing to export yet: train first")
        t0 = time.perf_counter()
        self.session.field.save(path, size=(width, height), bit_depth=bit_depth)
        return f"exported {width}x{height} to {path} in {time.perf_counter() - t0:.1f} s"

    def _save_checkpoint(self, path: str):
        if self.session is None:
            raise InrviewError("nothing to save yet: train first")
        self.session.save_checkpoint(path)
        return f"saved checkpoint {path}"


class ImageView(QtWidgets.QLabel):
    """Shows an RGB uint8 picture scaled to fit (aspect kept; nearest-neighbour when enlarging, so pixels
    stay visible)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Ignored)
        self._pixmap: QtGui.QPixmap | None = None
        self.picture: np.ndarray | None = None

    def set_picture(self, rgb: np.ndarray | None) -> None:
        self.picture = rgb
        if rgb is None:
            self._pixmap = None
            self.clear()
            return
        a = np.ascontiguousarray(rgb, dtype=np.uint8)
        h, w = a.shape[:2]
        qimg = QtGui.QImage(a.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()
        self._pixmap = QtGui.QPixmap.fromImage(qimg)
        self._rescale()

    def resizeEvent(self, ev):  # noqa: N802
        super().resizeEvent(ev)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap is None:
            return
        pm = self._pixmap
        mode = (QtCore.Qt.TransformationMode.FastTransformation if self.width() > pm.width()
                else QtCore.Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(pm.scaled(self.size(), QtCore.Qt.AspectRatioMode.KeepAspectRatio, mode))


class ImageModeWidget(QtWidgets.QWidget):
    """Self-contained Image mode; construct with no arguments, call shutdown() before discarding it."""

    VIEW_LABELS = {"fitted": "Fitted", "target": "Target", "error": "Error |f - target|",
                   "gradient": "Gradient |∇f| (autograd)", "laplacian": "Laplacian Δf (autograd)",
                   "target gradient": "Target gradient (finite differences)",
                   "target laplacian": "Target Laplacian (finite differences)"}

    def __init__(self, parent=None):
        super().__init__(parent)
        from ..image.live import VIEW_NAMES

        self.setAcceptDrops(True)
        self.worker = ImageWorker()
        self.path: str | None = None
        self.image_size: tuple[int, int] | None = None  # (width, height)
        self.last_frame = None
        self.psnr_history: list[tuple[int, float]] = []
        self._shut = False
        self._build(VIEW_NAMES)
        w = self.worker
        w.opened.connect(self._on_opened)
        w.progress.connect(self._on_progress)
        w.frame.connect(self._on_frame)
        w.state.connect(self._on_state)
        w.done.connect(lambda task, msg: self._status(msg))
        w.failed.connect(self._on_failed)
        app = QtWidgets.QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)  # a worker still running at exit aborts the process
        w.start()
        self._on_state("idle")

    # -- layout --------------------------------------------------------------------------------------
    def _build(self, view_names) -> None:
        root = QtWidgets.QHBoxLayout(self)
        side = QtWidgets.QVBoxLayout()
        root.addLayout(side, 0)

        self.open_btn = QtWidgets.QPushButton("Open image…")
        self.open_btn.clicked.connect(self._ask_open)
        self.info = QtWidgets.QLabel("Drop a PNG, JPEG, TIFF or BMP here")
        self.info.setWordWrap(True)
        side.addWidget(self.open_btn)
        side.addWidget(self.info)

        box = QtWidgets.QGroupBox("Network and training")
        form = QtWidgets.QFormLayout(box)
        self.kind = QtWidgets.QComboBox()
        for k, label in (("grid", "Grid encoding"), ("siren", "SIREN"), ("fourier", "ReLU + Fourier features"),
                         ("relu", "ReLU MLP")):
            self.kind.addItem(label, k)
        self.width_ = _spin(1, 4096, 64)
        self.depth = _spin(1, 32, 2)
        self.omega0 = QtWidgets.QDoubleSpinBox()
        self.omega0.setRange(0.1, 1000.0)
        self.omega0.setValue(30.0)
        self.lr = QtWidgets.QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(0.0, 1.0)
        self.lr.setSingleStep(1e-4)
        self.lr.setSpecialValueText("auto")
        self.steps = _spin(1, 10_000_000, 1000)
        self.seconds = _spin(0, 86_400, 0)
        self.seconds.setSpecialValueText("by steps")
        self.batch = _spin(64, 1 << 22, 16384)
        for label, wdg in (("Family", self.kind), ("Width", self.width_), ("Depth", self.depth),
                           ("SIREN ω₀", self.omega0), ("Learning rate", self.lr), ("Steps", self.steps),
                           ("Time budget (s)", self.seconds), ("Batch (pixels)", self.batch)):
            form.addRow(label, wdg)
        self.kind.currentIndexChanged.connect(self._family_defaults)
        side.addWidget(box)
        self._family_defaults()

        buttons = QtWidgets.QHBoxLayout()
        self.train_btn = QtWidgets.QPushButton("Train")
        self.pause_btn = QtWidgets.QPushButton("Pause")
        self.stop_btn = QtWidgets.QPushButton("Stop")
        self.train_btn.clicked.connect(self.start_training)
        self.pause_btn.clicked.connect(self._toggle_pause)
        self.stop_btn.clicked.connect(self.worker.stop)
        for b in (self.train_btn, self.pause_btn, self.stop_btn):
            buttons.addWidget(b)
        side.addLayout(buttons)

        exp = QtWidgets.QGroupBox("Export at any size")
        ef = QtWidgets.QFormLayout(exp)
        self.scale = QtWidgets.QDoubleSpinBox()
        self.scale.setRange(0.01, 64.0)
        self.scale.setValue(1.0)
        self.scale.setSingleStep(0.5)
        self.out_w = _spin(1, 65536, 256)
        self.out_h = _spin(1, 65536, 256)
        self.bits16 = QtWidgets.QCheckBox("16-bit PNG/TIFF")
        self.export_btn = QtWidgets.QPushButton("Export…")
        self.ckpt_btn = QtWidgets.QPushButton("Save checkpoint…")
        self.scale.valueChanged.connect(self._scale_changed)
        self.export_btn.clicked.connect(self._ask_export)
        self.ckpt_btn.clicked.connect(self._ask_checkpoint)
        for label, wdg in (("Scale", self.scale), ("Width", self.out_w), ("Height", self.out_h)):
            ef.addRow(label, wdg)
        ef.addRow(self.bits16)
        ef.addRow(self.export_btn)
        ef.addRow(self.ckpt_btn)
        side.addWidget(exp)
        side.addStretch(1)

        main = QtWidgets.QVBoxLayout()
        root.addLayout(main, 1)
        top = QtWidgets.QHBoxLayout()
        self.view_combo = QtWidgets.QComboBox()
        for name in view_names:
            self.view_combo.addItem(self.VIEW_LABELS.get(name, name), name)
        self.view_combo.currentIndexChanged.connect(self._view_changed)
        self.psnr_label = QtWidgets.QLabel("PSNR –")
        self.step_label = QtWidgets.QLabel("")
        top.addWidget(QtWidgets.QLabel("View"))
        top.addWidget(self.view_combo, 1)
        top.addWidget(self.psnr_label)
        top.addWidget(self.step_label)
        main.addLayout(top)
        self.view = ImageView()
        main.addWidget(self.view, 1)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        main.addWidget(self.progress)
        main.addWidget(self.status)

    # -- public API (GUI thread) -----------------------------------------------------------------------
    def open_image(self, path: str) -> None:
        self.path = str(path)
        self._status(f"opening {path}")
        self.worker.open_image(self.path)

    def model_config(self):
        from ..image import image_model_config

        size = (self.image_size[1], self.image_size[0]) if self.image_size else (256, 256)
        kind = self.kind.currentData()
        return image_model_config(kind, size, width=self.width_.value(), depth=self.depth.value(),
                                  omega0=self.omega0.value())

    def train_config(self) -> TrainConfig:
        secs = self.seconds.value()
        return TrainConfig(steps=self.steps.value(), seconds=float(secs) if secs > 0 else None,
                           batch_size=self.batch.value(), lr=self.lr.value() or None, threads=1)

    def start_training(self) -> None:
        self.psnr_history.clear()
        self.worker.start_training(self.model_config(), self.train_config())

    def current_view(self) -> str:
        return self.view_combo.currentData()

    def set_view(self, name: str) -> None:
        self.view_combo.setCurrentIndex(self.view_combo.findData(name))

    def export_to(self, path: str, width: int | None = None, height: int | None = None) -> None:
        self.worker.export(path, width or self.out_w.value(), height or self.out_h.value(), 16 if self.bits16.isChecked() else 8)

    def shutdown(self) -> None:
        """Stop training, end the worker thread and wait for it (idempotent)."""
        if self._shut:
            return
        self._shut = True
        self.worker.shutdown()

    # -- slots ---------------------------------------------------------------------------------------
    def _family_defaults(self) -> None:
        kind = self.kind.currentData()
        w, d = FAMILY_SIZES[kind]
        self.width_.setValue(w)
        self.depth.setValue(d)
        self.omega0.setEnabled(kind == "siren")
        from ..field.image import image_default_lr

        self.lr.setToolTip(f"auto = the family's default for images ({image_default_lr(kind):g})")

    def _on_opened(self, info: dict) -> None:
        self.image_size = (info["width"], info["height"])
        notes = "".join(f"\n{n}" for n in info["notices"])
        self.info.setText(f"{Path(info['path']).name}\n{info['width']} x {info['height']} {info['mode']}, "
                          f"{info['bit_depth']}-bit{notes}")
        self.last_frame = None
        self.view_combo.setCurrentIndex(self.view_combo.findData("target"))
        self.view.set_picture(info["target"])
        self.psnr_label.setText("PSNR –")
        self._scale_changed()

    def _on_progress(self, p: dict) -> None:
        self.progress.setValue(int(1000 * min(1.0, p["progress"])))
        loss = p.get("loss")
        self.step_label.setText(f"step {p['step']}  {p['elapsed']:.1f} s" + (f"  mse {loss:.2e}" if loss else ""))
        if p.get("message"):
            self._status(p["message"])

    def _on_frame(self, f) -> None:
        self.last_frame = f
        self.psnr_history.append((f.step, f.psnr))
        ssim_txt = f"  SSIM {f.ssim:.3f}" if np.isfinite(f.ssim) else ""
        self.psnr_label.setText(f"PSNR {f.psnr:.2f} dB{ssim_txt}")
        if self.current_view() == "target" and f.step <= 1:
            self.set_view("fitted")
        self._show()
        if f.done:
            self._status(f"done: {f.step} steps in {f.elapsed:.1f} s, PSNR {f.psnr:.2f} dB")

    def _show(self) -> None:
        f = self.last_frame
        name = self.current_view()
        if f is not None and name in f.pictures:
            self.view.set_picture(f.pictures[name])

    def _view_changed(self) -> None:
        name = self.current_view()
        wanted = {"fitted", "error", name}
        self.worker.wanted_views = tuple(wanted)
        if self.last_frame is not None and name not in self.last_frame.pictures:
            self.worker.refresh()  # derivative views are computed only when shown
        self._show()

    def _on_state(self, state: str) -> None:
        training = state in ("training", "paused")
        self.train_btn.setEnabled(not training and state != "busy")
        self.pause_btn.setEnabled(training)
        self.pause_btn.setText("Resume" if state == "paused" else "Pause")
        self.stop_btn.setEnabled(training)
        self.open_btn.setEnabled(state != "busy")
        self.state_name = state

    def _on_failed(self, task: str, msg: str) -> None:
        self._status(f"{task} failed: {msg}")

    def _toggle_pause(self) -> None:
        if self.worker.paused:
            self.worker.resume()
        else:
            self.worker.pause()

    def _scale_changed(self) -> None:
        if self.image_size:
            s = self.scale.value()
            self.out_w.setValue(max(1, round(self.image_size[0] * s)))
            self.out_h.setValue(max(1, round(self.image_size[1] * s)))

    def _ask_open(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open image", "", "Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp)")
        if path:
            self.open_image(path)

    def _ask_export(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export image", "fitted.png", "Images (*.png *.jpg *.tif *.bmp)")
        if path:
            self.export_to(path)

    def _ask_checkpoint(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save checkpoint", "image.safetensors", "Checkpoints (*.safetensors)")
        if path:
            self.worker.save_checkpoint(path)

    def _status(self, text: str) -> None:
        self.status.setText(text)

    # -- drag and drop ---------------------------------------------------------------------------------
    @staticmethod
    def _dropped_image(mime: QtCore.QMimeData) -> str | None:
        for url in mime.urls() if mime.hasUrls() else []:
            p = url.toLocalFile()
            if p and p.lower().endswith(IMAGE_SUFFIXES):
                return p
        return None

    def dragEnterEvent(self, ev: QtGui.QDragEnterEvent) -> None:  # noqa: N802
        if self._dropped_image(ev.mimeData()):
            ev.acceptProposedAction()
        else:
            ev.ignore()

    def dropEvent(self, ev: QtGui.QDropEvent) -> None:  # noqa: N802
        path = self._dropped_image(ev.mimeData())
        if path:
            ev.acceptProposedAction()
            self.open_image(path)

    def closeEvent(self, ev) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(ev)


def _spin(lo: int, hi: int, value: int) -> QtWidgets.QSpinBox:
    s = QtWidgets.QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    return s
