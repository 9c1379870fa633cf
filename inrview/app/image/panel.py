"""The image mode's widget: drop a picture, watch a network learn it, look at its error and its derivatives,
export it at any size.

Widgets live on the GUI thread only; the ImageWorker (worker.py) owns the session and sends back progress and
finished pictures (view.py shows them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from ...config import FAMILIES, TrainConfig
from ..common.timelapse import DEFAULT_FRAMES, Recorder, formats, write_frames
from . import IMAGE_SUFFIXES
from .view import ImageView
from .worker import ImageWorker


class ImageModeWidget(QtWidgets.QWidget):
    """Self-contained Image mode; construct with no arguments, call shutdown() before discarding it."""

    VIEW_LABELS = {
        "fitted": "Fitted",
        "target": "Target",
        "error": "Error |f - target|",
        "gradient": "Gradient |∇f| (autograd)",
        "laplacian": "Laplacian Δf (autograd)",
        "target gradient": "Target gradient (finite differences)",
        "target laplacian": "Target Laplacian (finite differences)",
    }

    def __init__(self, parent=None):
        super().__init__(parent)
        from ...image.live import VIEW_NAMES

        self.setAcceptDrops(True)
        self.worker = ImageWorker()
        self.path: str | None = None
        self.image_size: tuple[int, int] | None = None  # (width, height)
        self.last_frame = None
        self.psnr_history: list[tuple[int, float]] = []
        self.settings = None  # the window's (remembers the time-lapse folder); a Settings() of its own otherwise
        self.recorder: Recorder | None = None
        self.run_progress = 0.0
        self.saved_timelapses: list[str] = []
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

        side.addWidget(self._network_box())
        side.addLayout(self._train_buttons())
        side.addLayout(self._record_row())
        side.addWidget(self._export_box())
        side.addStretch(1)
        root.addLayout(self._picture_column(view_names), 1)

    def _network_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Network and training")
        form = QtWidgets.QFormLayout(box)
        self.kind = QtWidgets.QComboBox()
        for k, fam in FAMILIES.items():
            self.kind.addItem(fam.label, k)
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
        for label, wdg in (
            ("Family", self.kind),
            ("Width", self.width_),
            ("Depth", self.depth),
            ("SIREN ω₀", self.omega0),
            ("Learning rate", self.lr),
            ("Steps", self.steps),
            ("Time budget (s)", self.seconds),
            ("Batch (pixels)", self.batch),
        ):
            form.addRow(label, wdg)
        self.kind.currentIndexChanged.connect(self._family_defaults)
        self._family_defaults()
        return box

    def _train_buttons(self) -> QtWidgets.QHBoxLayout:
        buttons = QtWidgets.QHBoxLayout()
        self.train_btn = QtWidgets.QPushButton("Train")
        self.pause_btn = QtWidgets.QPushButton("Pause")
        self.stop_btn = QtWidgets.QPushButton("Stop")
        self.train_btn.clicked.connect(self.start_training)
        self.pause_btn.clicked.connect(self._toggle_pause)
        self.stop_btn.clicked.connect(self.worker.stop)
        for b in (self.train_btn, self.pause_btn, self.stop_btn):
            buttons.addWidget(b)
        return buttons

    def _record_row(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        self.record = QtWidgets.QCheckBox("Record time-lapse")
        self.record.setToolTip("Keep pictures of the fit as it sharpens; save them as a GIF or MP4 at the end")
        self.record_frames = _spin(10, 1000, DEFAULT_FRAMES)
        self.record_frames.setSuffix(" frames")
        row.addWidget(self.record)
        row.addWidget(self.record_frames)
        return row

    def _export_box(self) -> QtWidgets.QGroupBox:
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
        return exp

    def _picture_column(self, view_names) -> QtWidgets.QVBoxLayout:
        main = QtWidgets.QVBoxLayout()
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
        return main

    # -- public API (GUI thread) -----------------------------------------------------------------------
    def open_image(self, path: str) -> None:
        self.path = str(path)
        self._status(f"opening {path}")
        self.worker.open_image(self.path)

    def model_config(self):
        from ...config.image import image_model_config

        size = (self.image_size[1], self.image_size[0]) if self.image_size else (256, 256)
        kind = self.kind.currentData()
        return image_model_config(
            kind, size, width=self.width_.value(), depth=self.depth.value(), omega0=self.omega0.value()
        )

    def train_config(self) -> TrainConfig:
        secs = self.seconds.value()
        return TrainConfig(
            steps=self.steps.value(),
            seconds=float(secs) if secs > 0 else None,
            batch_size=self.batch.value(),
            lr=self.lr.value() or None,
            threads=1,
        )

    def start_training(self) -> None:
        self.psnr_history.clear()
        self.run_progress = 0.0
        self.recorder = Recorder(self.record_frames.value()) if self.record.isChecked() else None
        self.worker.start_training(self.model_config(), self.train_config())

    def current_view(self) -> str:
        return self.view_combo.currentData()

    def set_view(self, name: str) -> None:
        self.view_combo.setCurrentIndex(self.view_combo.findData(name))

    def export_to(self, path: str, width: int | None = None, height: int | None = None) -> None:
        self.worker.export(
            path, width or self.out_w.value(), height or self.out_h.value(), 16 if self.bits16.isChecked() else 8
        )

    def shutdown(self) -> None:
        """Stop training, end the worker thread and wait for it (idempotent)."""
        if self._shut:
            return
        self._shut = True
        self.worker.shutdown()

    # -- slots ---------------------------------------------------------------------------------------
    def _family_defaults(self) -> None:
        kind = self.kind.currentData()
        w, d = FAMILIES[kind].size
        self.width_.setValue(w)
        self.depth.setValue(d)
        self.omega0.setEnabled(kind == "siren")
        from ...config.image import image_default_lr

        self.lr.setToolTip(f"auto = the family's default for images ({image_default_lr(kind):g})")

    def _on_opened(self, info: dict) -> None:
        self.image_size = (info["width"], info["height"])
        notes = "".join(f"\n{n}" for n in info["notices"])
        self.info.setText(
            f"{Path(info['path']).name}\n{info['width']} x {info['height']} {info['mode']}, "
            f"{info['bit_depth']}-bit{notes}"
        )
        self.last_frame = None
        self.view_combo.setCurrentIndex(self.view_combo.findData("target"))
        self.view.set_picture(info["target"])
        self.psnr_label.setText("PSNR –")
        self._scale_changed()

    def _on_progress(self, p: dict) -> None:
        self.progress.setValue(int(1000 * min(1.0, p["progress"])))
        self.run_progress = p["progress"]
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
        if self.recorder is not None and "fitted" in f.pictures:
            self.recorder.offer(1.0 if f.done else self.run_progress, lambda: _enlarged(f.pictures["fitted"]), f.done)
            if f.done:
                self._save_timelapse()
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
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open image", "", "Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp)"
        )
        if path:
            self.open_image(path)

    def _ask_export(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export image", "fitted.png", "Images (*.png *.jpg *.tif *.bmp)"
        )
        if path:
            self.export_to(path)

    def _ask_checkpoint(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save checkpoint", "image.safetensors", "Checkpoints (*.safetensors)"
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

        self.settings = self.settings or Settings()
        stem = Path(self.path).stem if self.path else "image"
        return save_path(self, self.settings, "Save time-lapse", formats(), f"{stem}-timelapse.gif", "timelapse")

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


def _enlarged(rgb: np.ndarray, short_side: int = 256) -> np.ndarray:
    """A small picture enlarged by an integer factor (pixels kept sharp) to about `short_side` pixels."""
    k = max(1, short_side // max(1, min(rgb.shape[:2])))
    return np.repeat(np.repeat(rgb, k, axis=0), k, axis=1) if k > 1 else rgb
