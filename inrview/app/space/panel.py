"""The Shape-space mode's side panel: the shapes, the morph and principal-direction sliders, completion and
training controls. Widgets only: it says what the user asked for through signals and `selection()`; the
controller turns that into worker commands.
"""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtWidgets

from ..common.forms import form_box
from .state import SIGMAS, SpaceState

#: Slider ticks per unit (morph t in 0..1, principal offsets in standard deviations).
TICKS = 100


class SpacePanel(QtWidgets.QWidget):
    code_changed = QtCore.pyqtSignal()  # a slider, shape or origin changed: a new code to show
    open_clicked = QtCore.pyqtSignal()
    train_clicked = QtCore.pyqtSignal()
    complete_clicked = QtCore.pyqtSignal()
    export_clicked = QtCore.pyqtSignal()
    stop_clicked = QtCore.pyqtSignal()
    continue_clicked = QtCore.pyqtSignal()  # go on training the open (stopped) training checkpoint

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state: SpaceState | None = None
        self.pc_sliders: list[QtWidgets.QSlider] = []
        self.pc_labels: list[QtWidgets.QLabel] = []
        lay = QtWidgets.QVBoxLayout(self)
        self.info = QtWidgets.QLabel("Drop a shape-space checkpoint (.safetensors) here, or train one from a folder")
        self.info.setWordWrap(True)
        buttons = QtWidgets.QHBoxLayout()
        for text, sig in (("Open space…", self.open_clicked), ("Train from folder…", self.train_clicked)):
            b = QtWidgets.QPushButton(text)
            b.clicked.connect(sig)
            buttons.addWidget(b)
        lay.addWidget(self.info)
        lay.addLayout(buttons)
        lay.addLayout(self._run_row())  # Stop and Export at the top: never below the fold at 1280 x 800
        lay.addWidget(self.continue_btn)
        lay.addWidget(self._shapes_box(), 1)
        lay.addWidget(self._morph_box())
        self.pc_box, self.pc_form = form_box("Principal directions of the codes")
        lay.addWidget(self.pc_box)
        lay.addWidget(self._complete_box())
        lay.addWidget(self._train_box())
        self.setMinimumWidth(300)

    # -- building ---------------------------------------------------------------------------------------
    def _shapes_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Shapes")
        v = QtWidgets.QVBoxLayout(box)
        self.shapes = QtWidgets.QTreeWidget()
        self.shapes.setHeaderLabels(["Shape", "Training error"])
        self.shapes.setRootIsDecorated(False)
        self.shapes.setMinimumHeight(60)  # the list grows: it scrolls, the panel does not
        self.shapes.setToolTip("Click: shape A; Ctrl+click (or the B box): shape B")
        self.shapes.itemClicked.connect(self._picked)
        v.addWidget(self.shapes)
        return box

    def _morph_box(self) -> QtWidgets.QGroupBox:
        box, form = form_box("Morph A → B")
        self.a, self.b = QtWidgets.QComboBox(), QtWidgets.QComboBox()
        self.morph = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal, minimum=0, maximum=TICKS)
        self.morph_label = QtWidgets.QLabel("t = 0.00")
        self.from_mean = QtWidgets.QCheckBox("Start from the mean code (not A → B)")
        self.resolution = QtWidgets.QComboBox()
        for r in (32, 48, 64, 96, 128):
            self.resolution.addItem(f"{r}³", r)
        self.resolution.setCurrentIndex(2)
        form.addRow("A", self.a)
        form.addRow("B", self.b)
        form.addRow(self.morph_label, self.morph)
        form.addRow("", self.from_mean)
        form.addRow("Preview", self.resolution)
        for w in (self.a, self.b, self.resolution):
            w.currentIndexChanged.connect(self._changed)
        self.morph.valueChanged.connect(self._changed)
        self.from_mean.toggled.connect(self._changed)
        return box

    def _complete_box(self) -> QtWidgets.QGroupBox:
        box, form = form_box("Complete from points")
        self.complete_btn = QtWidgets.QPushButton("Complete points…")
        self.complete_btn.setToolTip("Or drop a point cloud or mesh on this tab while a space is open")
        self.complete_btn.clicked.connect(self.complete_clicked)
        self.steps = QtWidgets.QSpinBox(minimum=10, maximum=5000, value=200, singleStep=50)
        self.distance = QtWidgets.QLabel("—")
        self.distance.setToolTip("Mean distance from the given points to the surface, in the input's units")
        self.warning = QtWidgets.QLabel("")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #f0a35e")
        form.addRow(self.complete_btn)
        form.addRow("Steps", self.steps)
        self.show_confidence = QtWidgets.QCheckBox("Colour by confidence")
        self.show_confidence.setChecked(True)
        self.show_confidence.setEnabled(False)
        self.show_confidence.setToolTip(
            "Colour the completed surface by how much to trust it: green where the points are (observed), "
            "towards red where it was inferred and the completion's starts disagree"
        )
        self.confidence = QtWidgets.QLabel("—")
        self.confidence.setWordWrap(True)
        form.addRow("Mean points → surface", self.distance)
        form.addRow(self.show_confidence)
        form.addRow("Observed", self.confidence)
        form.addRow(self.warning)
        return box

    def _train_box(self) -> QtWidgets.QGroupBox:
        box, form = form_box("Training and export")
        self.epochs = QtWidgets.QSpinBox(minimum=1, maximum=100_000, value=300, singleStep=50)
        self.samples = QtWidgets.QSpinBox(minimum=1000, maximum=1_000_000, value=60_000, singleStep=10_000)
        form.addRow("Epochs", self.epochs)
        form.addRow("Samples per shape", self.samples)
        return box

    def _run_row(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        for text, sig in (("Stop", self.stop_clicked), ("Export mesh…", self.export_clicked)):
            b = QtWidgets.QPushButton(text)
            b.clicked.connect(sig)
            row.addWidget(b)
            setattr(self, "stop_btn" if text == "Stop" else "export_btn", b)
        self.continue_btn = QtWidgets.QPushButton("Continue training")
        self.continue_btn.setToolTip("Go on training this space from its checkpoint, where it stopped")
        self.continue_btn.clicked.connect(self.continue_clicked)
        self.continue_btn.hide()  # its own full-width row under this one (see __init__)
        return row

    # -- state ------------------------------------------------------------------------------------------
    def set_state(self, state: SpaceState) -> None:
        """Fill the list, the A/B boxes and one slider per principal direction (signals held meanwhile)."""
        self.state = state
        self.info.setText(state.summary())
        self.continue_btn.setVisible(state.can_continue)
        if state.can_continue:
            r = state.resume
            self.continue_btn.setText(f"Continue training (stopped at step {r['step']} of {r['total_steps'] or '?'})")
        widgets = [self.a, self.b, self.morph, self.from_mean]
        for w in widgets:
            w.blockSignals(True)
        self.shapes.clear()
        for name, err in zip(state.names, state.errors):
            self.shapes.addTopLevelItem(QtWidgets.QTreeWidgetItem([name, f"{err:.3g}"]))
        for combo in (self.a, self.b):
            combo.clear()
            combo.addItems(state.names)
        self.b.setCurrentIndex(min(1, len(state.names) - 1))
        self.morph.setValue(0)
        self.from_mean.setChecked(False)
        for w in widgets:
            w.blockSignals(False)
        self._pc_sliders(state)
        self.morph_label.setText("t = 0.00")
        self.set_completion(None)

    def _pc_sliders(self, state: SpaceState) -> None:
        while self.pc_form.rowCount():
            self.pc_form.removeRow(0)
        self.pc_sliders, self.pc_labels = [], []
        for k, share in enumerate(state.shares):
            s = QtWidgets.QSlider(
                QtCore.Qt.Orientation.Horizontal, minimum=-int(SIGMAS * TICKS), maximum=int(SIGMAS * TICKS)
            )
            s.setToolTip(f"{100 * share:.1f}% of the codes' variance; ±{SIGMAS:g} standard deviations")
            label = QtWidgets.QLabel(f"PC{k + 1} +0.0σ")
            s.valueChanged.connect(self._changed)
            self.pc_form.addRow(label, s)
            self.pc_sliders.append(s)
            self.pc_labels.append(label)
        reset = QtWidgets.QPushButton("Reset")
        reset.clicked.connect(self.reset_directions)
        self.pc_form.addRow(reset)

    def reset_directions(self) -> None:
        for s in self.pc_sliders:
            s.blockSignals(True)
            s.setValue(0)
            s.blockSignals(False)
        self._changed()

    def selection(self) -> tuple[int, int, float, np.ndarray, bool]:
        """(a, b, t, offsets in standard deviations (K,), from_mean)."""
        offsets = np.array([s.value() / TICKS for s in self.pc_sliders])
        return (
            max(self.a.currentIndex(), 0),
            max(self.b.currentIndex(), 0),
            self.morph.value() / TICKS,
            offsets,
            self.from_mean.isChecked(),
        )

    def current_code(self) -> np.ndarray | None:
        """The code the sliders describe (None without a space)."""
        if self.state is None:
            return None
        a, b, t, off, mean = self.selection()
        return self.state.code_at(a, b, t, off, mean)

    def set_completion(self, distance: float | None, warning: str = "", step: str = "") -> None:
        self.distance.setText("—" if distance is None else f"{distance:.4g} (input units){step}")
        self.warning.setText(warning)

    def set_confidence(self, summary: dict | None) -> None:
        """The finished completion's confidence summary (space.confidence.summary), or None: none yet."""
        self.show_confidence.setEnabled(summary is not None)
        if summary is None:
            self.confidence.setText("—")
            return
        self.confidence.setText(
            f"{100 * summary['observed_fraction']:.0f}% of the surface; confidence mean "
            f"{summary['confidence_mean']:.2f}"
        )

    def set_running(self, running: bool, has_space: bool) -> None:
        self.stop_btn.setEnabled(running)
        self.continue_btn.setEnabled(not running)
        self.complete_btn.setEnabled(has_space and not running)
        self.export_btn.setEnabled(has_space)

    # -- slots ------------------------------------------------------------------------------------------
    def _picked(self, item, _column) -> None:
        row = self.shapes.indexOfTopLevelItem(item)
        ctrl = QtWidgets.QApplication.keyboardModifiers() & QtCore.Qt.KeyboardModifier.ControlModifier
        (self.b if ctrl else self.a).setCurrentIndex(row)

    def _changed(self, *_) -> None:
        t = self.morph.value() / TICKS
        self.morph_label.setText(f"t = {t:.2f}")
        for s, label, k in zip(self.pc_sliders, self.pc_labels, range(len(self.pc_sliders))):
            label.setText(f"PC{k + 1} {s.value() / TICKS:+.1f}σ")
        if self.state is not None:
            self.code_changed.emit()
