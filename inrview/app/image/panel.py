"""The image tab's widgets: the settings column, the pictures (one view, or target | fit | error side by side,
with zoom, pan and a pixel read-out), the loss and PSNR curves, progress and status.

Widgets only: the buttons and the drop area announce themselves through signals; the image controller
(controller.py) owns the worker, answers them, opens the dialogs and fills the pictures in.
"""

from __future__ import annotations

from PyQt6 import QtCore, QtGui, QtWidgets

from ...config import FAMILIES, TrainConfig
from ...config.image import image_default_lr, image_model_config
from ...image.live import ERROR_SCALE, VIEW_NAMES
from ..common.forms import family_combo, form_box, spin
from ..common.timelapse import DEFAULT_FRAMES
from . import IMAGE_SUFFIXES
from .curves import ImageCurves
from .view import Camera, ColorBar, ImageView

VIEW_LABELS = {
    "fitted": "Fitted",
    "target": "Target",
    "error": "Error |f - target|",
    "gradient": "Gradient |∇f| (autograd)",
    "laplacian": "Laplacian Δf (autograd)",
    "target gradient": "Target gradient (finite differences)",
    "target laplacian": "Target Laplacian (finite differences)",
}
SIDE = ("target", "fitted", "error")  # the side-by-side row, left to right


class ImagePanel(QtWidgets.QWidget):
    """The image tab's widget; signals say what the user asked for."""

    open_clicked = QtCore.pyqtSignal()
    train_clicked = QtCore.pyqtSignal()
    pause_clicked = QtCore.pyqtSignal()
    stop_clicked = QtCore.pyqtSignal()
    export_clicked = QtCore.pyqtSignal()
    checkpoint_clicked = QtCore.pyqtSignal()
    view_changed = QtCore.pyqtSignal(str)
    family_changed = QtCore.pyqtSignal(str)
    file_dropped = QtCore.pyqtSignal(str)
    hovered = QtCore.pyqtSignal(int, int)  # image pixel under the mouse, (-1, -1) when none

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        root = QtWidgets.QHBoxLayout(self)
        side = QtWidgets.QVBoxLayout()
        root.addLayout(side, 0)
        self.open_btn = QtWidgets.QPushButton("Open image…")
        self.open_btn.setToolTip("A picture (PNG, JPEG, TIFF, BMP) or an image checkpoint (.safetensors)")
        self.open_btn.clicked.connect(self.open_clicked)
        self.info = QtWidgets.QLabel("Drop a PNG, JPEG, TIFF or BMP here")
        self.info.setWordWrap(True)
        side.addWidget(self.open_btn)
        side.addWidget(self.info)
        side.addWidget(self._network_box())
        side.addLayout(self._train_buttons())
        side.addLayout(self._record_row())
        side.addWidget(self._export_box())
        side.addStretch(1)
        root.addLayout(self._picture_column(), 1)

    # -- building --------------------------------------------------------------------------------------
    def _network_box(self) -> QtWidgets.QGroupBox:
        box, form = form_box("Network and training")
        self.kind = family_combo()
        self.width_ = spin(1, 4096, 64)
        self.depth = spin(1, 32, 2)
        self.omega0 = QtWidgets.QDoubleSpinBox(minimum=0.1, maximum=1000.0, value=30.0)
        self.omega0.setToolTip("SIREN's frequency factor ω₀ of the first layer")
        self.lr = QtWidgets.QDoubleSpinBox(decimals=5, minimum=0.0, maximum=1.0, singleStep=1e-4)
        self.lr.setSpecialValueText("auto")
        self.steps = spin(1, 10_000_000, 1000)
        self.seconds = spin(0, 86_400, 0)
        self.seconds.setSpecialValueText("by steps")
        self.batch = spin(64, 1 << 22, 16384)
        self.batch.setToolTip("Pixels drawn at random for each step")
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
        for b, sig in ((self.train_btn, self.train_clicked), (self.pause_btn, self.pause_clicked)):
            b.clicked.connect(sig)
            buttons.addWidget(b)
        self.stop_btn.clicked.connect(self.stop_clicked)
        buttons.addWidget(self.stop_btn)
        return buttons

    def _record_row(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        self.record = QtWidgets.QCheckBox("Record time-lapse")
        self.record.setToolTip("Keep pictures of the fit as it sharpens; save them as a GIF or MP4 at the end")
        self.record_frames = spin(10, 1000, DEFAULT_FRAMES)
        self.record_frames.setSuffix(" frames")
        row.addWidget(self.record)
        row.addWidget(self.record_frames)
        return row

    def _export_box(self) -> QtWidgets.QGroupBox:
        exp, ef = form_box("Export at any size")
        self.scale = QtWidgets.QDoubleSpinBox(minimum=0.01, maximum=64.0, value=1.0, singleStep=0.5)
        self.out_w = spin(1, 65536, 256)
        self.out_h = spin(1, 65536, 256)
        self.bits16 = QtWidgets.QCheckBox("16-bit PNG/TIFF")
        self.export_btn = QtWidgets.QPushButton("Export…")
        self.ckpt_btn = QtWidgets.QPushButton("Save checkpoint…")
        self.ckpt_btn.setToolTip("Weights and settings; open it again in the app or `inrview image render` it")
        self.export_btn.clicked.connect(self.export_clicked)
        self.ckpt_btn.clicked.connect(self.checkpoint_clicked)
        for label, wdg in (("Scale", self.scale), ("Width", self.out_w), ("Height", self.out_h)):
            ef.addRow(label, wdg)
        ef.addRow(self.bits16)
        ef.addRow(self.export_btn)
        ef.addRow(self.ckpt_btn)
        return exp

    def _picture_column(self) -> QtWidgets.QVBoxLayout:
        main = QtWidgets.QVBoxLayout()
        main.addLayout(self._view_row())
        self.camera = Camera(self)
        self.views = {"main": ImageView(self.camera)}
        self.views.update({n: ImageView(self.camera, VIEW_LABELS[n].split(" (")[0]) for n in SIDE})
        row = QtWidgets.QHBoxLayout()
        for name, v in self.views.items():
            v.hovered.connect(self.hovered)
            row.addWidget(v, 1)
            v.setVisible(name == "main")
        self.scales: dict = {}  # the derivative views' colour scales (see update_color_bar)
        self.color_bar = ColorBar(ERROR_SCALE)
        self.color_bar.hide()
        row.addWidget(self.color_bar)
        main.addLayout(row, 1)
        self.readout = QtWidgets.QLabel("Point at the picture for its pixel values")
        self.readout.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        main.addWidget(self.readout)
        self.curves = ImageCurves()
        self.curves.setMaximumHeight(170)  # the pictures take what is left
        main.addWidget(self.curves)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        main.addWidget(self.progress)
        main.addWidget(self.status)
        return main

    def _view_row(self) -> QtWidgets.QHBoxLayout:
        top = QtWidgets.QHBoxLayout()
        self.view_combo = QtWidgets.QComboBox()
        for name in VIEW_NAMES:
            self.view_combo.addItem(VIEW_LABELS.get(name, name), name)
        self.view_combo.currentIndexChanged.connect(lambda *_: self.view_changed.emit(self.current_view()))
        self.side_by_side = QtWidgets.QCheckBox("Target | fit | error")
        self.side_by_side.setToolTip("The target, the fitted picture and the error side by side, zoomed together")
        self.side_by_side.toggled.connect(self.show_side_by_side)
        self.fit_btn = QtWidgets.QToolButton(text="Fit")
        self.fit_btn.setToolTip("Fit the picture in the view (double click does too); wheel: zoom, drag: pan")
        self.one_btn = QtWidgets.QToolButton(text="1:1")
        self.one_btn.setToolTip("One screen pixel per image pixel")
        self.fit_btn.clicked.connect(self.camera_reset)
        self.one_btn.clicked.connect(lambda: self.set_zoom(1.0))
        self.zoom_label = QtWidgets.QLabel("fit")
        self.psnr_label = QtWidgets.QLabel("PSNR –")
        self.step_label = QtWidgets.QLabel("")
        for w, stretch in (
            (QtWidgets.QLabel("View"), 0),
            (self.view_combo, 1),
            (self.side_by_side, 0),
            (self.fit_btn, 0),
            (self.one_btn, 0),
            (self.zoom_label, 0),
            (self.psnr_label, 0),
            (self.step_label, 0),
        ):
            top.addWidget(w, stretch)
        return top

    # -- what the controller asks ----------------------------------------------------------------------
    @property
    def view(self) -> ImageView:
        """The single picture view (what the View menu shows)."""
        return self.views["main"]

    def current_view(self) -> str:
        return self.view_combo.currentData()

    def set_view(self, name: str) -> None:
        self.view_combo.setCurrentIndex(self.view_combo.findData(name))

    def show_side_by_side(self, on: bool) -> None:
        if self.side_by_side.isChecked() != on:
            self.side_by_side.setChecked(on)
        self.views["main"].setVisible(not on)
        for n in SIDE:
            self.views[n].setVisible(on)
        self.update_color_bar()

    def update_color_bar(self, scales: dict | None = None) -> None:
        """The bar of the view in front: the error's, or a gradient's (0 .. its scale) or a Laplacian's (signed);
        scales: {'gradient': vmax, 'laplacian': vmax} of the current fit (kept until new ones come)."""
        if scales:
            self.scales = dict(scales)
        name = "error" if self.side_by_side.isChecked() else self.current_view()
        kind = name.replace("target ", "")
        bar, vmax = self.color_bar, self.scales.get(kind)
        if name == "error":
            tip = f"Error colours: |f − target|, black = 0, yellow = {ERROR_SCALE:g} or more (values range 0..1)"
            bar.set_scale(ERROR_SCALE, "error", tooltip=tip)
        elif kind == "gradient" and vmax:
            tip = f"|∇ luminance| per pixel: black = 0, yellow = {vmax:.3g} or more (the target's 99th percentile)"
            bar.set_scale(vmax, "|∇|", tooltip=tip)
        elif kind == "laplacian" and vmax:
            tip = f"Δ luminance per pixel²: blue ≤ −{vmax:.3g}, white = 0, red ≥ +{vmax:.3g} (99th percentile)"
            bar.set_scale(vmax, "Δ", signed=True, tooltip=tip)
        else:
            bar.hide()
            return
        bar.show()

    def set_image_size(self, width: int, height: int) -> None:
        """The full-size picture the zoom and the read-out refer to; the view fits it in again."""
        self.camera.size = (width, height)
        self.camera_reset()

    def camera_reset(self) -> None:
        self.camera.reset()
        self.zoom_label.setText("fit")

    def set_zoom(self, zoom: float) -> None:
        """Screen pixels per image pixel, about the middle of the view."""
        v = self.views["main"] if self.views["main"].isVisible() else self.views["fitted"]
        v.zoom_at(zoom / v.zoom())
        self.zoom_label.setText(f"{zoom:g}x")

    def model_config(self, image_size: tuple[int, int] | None):

        size = (image_size[1], image_size[0]) if image_size else (256, 256)
        return image_model_config(
            self.kind.currentData(),
            size,
            width=self.width_.value(),
            depth=self.depth.value(),
            omega0=self.omega0.value(),
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

    def set_state(self, state: str, can_train: bool = True) -> None:
        training = state in ("training", "paused")
        self.train_btn.setEnabled(can_train and not training and state != "busy")
        self.pause_btn.setEnabled(training)
        self.pause_btn.setText("Resume" if state == "paused" else "Pause")
        self.stop_btn.setEnabled(training)
        self.open_btn.setEnabled(state != "busy")

    def scale_to(self, image_size: tuple[int, int] | None) -> None:
        if image_size:
            s = self.scale.value()
            self.out_w.setValue(max(1, round(image_size[0] * s)))
            self.out_h.setValue(max(1, round(image_size[1] * s)))

    def _family_defaults(self) -> None:
        kind = self.kind.currentData()
        w, d = FAMILIES[kind].size
        self.width_.setValue(w)
        self.depth.setValue(d)
        self.omega0.setEnabled(kind == "siren")
        self.lr.setToolTip(f"auto = the family's default for images ({image_default_lr(kind):g})")

    # -- drag and drop -------------------------------------------------------------------------------
    @staticmethod
    def dropped_file(mime: QtCore.QMimeData) -> str | None:
        for url in mime.urls() if mime.hasUrls() else []:
            p = url.toLocalFile()
            if p and p.lower().endswith(IMAGE_SUFFIXES + (".safetensors",)):
                return p
        return None

    def dragEnterEvent(self, ev: QtGui.QDragEnterEvent) -> None:  # noqa: N802
        if self.dropped_file(ev.mimeData()):
            ev.acceptProposedAction()
        else:
            ev.ignore()

    def dropEvent(self, ev: QtGui.QDropEvent) -> None:  # noqa: N802
        path = self.dropped_file(ev.mimeData())
        if path:
            ev.acceptProposedAction()
            self.file_dropped.emit(path)
