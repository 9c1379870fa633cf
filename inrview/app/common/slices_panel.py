"""Slices dock: X/Y/Z planes through the field, each with a toggle and a position slider; their opacity."""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtWidgets

AXES = "XYZ"
STEPS = 1000
DEFAULTS = {0: (True, 0.5), 1: (True, 0.2), 2: (False, 0.5)}  # a centre plane and a floor under the shape
OPACITY = 50  # percent: translucent, so that a plane through the shape hides none of it


class SlicesPanel(QtWidgets.QWidget):
    """Emits `changed` with {axis: world offset} for the enabled planes whenever a toggle or slider moves."""

    changed = QtCore.pyqtSignal(dict)
    opacity_changed = QtCore.pyqtSignal(float)  # 0..1

    def __init__(self, parent=None):
        super().__init__(parent)
        self.lo, self.hi = np.full(3, -1.0), np.full(3, 1.0)
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(6, 6, 6, 6)
        self.toggles: list[QtWidgets.QCheckBox] = []
        self.sliders: list[QtWidgets.QSlider] = []
        self.labels: list[QtWidgets.QLabel] = []
        for a, name in enumerate(AXES):
            on, frac = DEFAULTS[a]
            t = QtWidgets.QCheckBox(name, checked=on)
            t.setToolTip(f"Show the field on a plane normal to {name}")
            s = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
            s.setRange(0, STEPS)
            s.setValue(int(frac * STEPS))
            s.setToolTip(f"Position of the {name} plane")
            lab = QtWidgets.QLabel()
            lab.setMinimumWidth(70)
            lab.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(t, a, 0)
            grid.addWidget(s, a, 1)
            grid.addWidget(lab, a, 2)
            t.toggled.connect(self._changed)
            s.valueChanged.connect(self._changed)
            self.toggles.append(t)
            self.sliders.append(s)
            self.labels.append(lab)
        legend = QtWidgets.QLabel(
            "<span style='color:#4393c3'>■</span> inside (negative) &nbsp; "
            "<span style='color:#d6604d'>■</span> outside (positive) &nbsp; "
            "<b>—</b> zero level"
        )
        legend.setToolTip("Diverging colour map centred at zero; the black line is the zero contour")
        legend.setWordWrap(True)
        grid.addWidget(legend, 4, 0, 1, 3)
        self.opacity = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity.setRange(10, 100)
        self.opacity.setValue(OPACITY)
        self.opacity.setToolTip("Opacity of the planes (the zero contour stays opaque)")
        self.opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100.0))
        grid.addWidget(QtWidgets.QLabel("Opacity"), 3, 0)
        grid.addWidget(self.opacity, 3, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(5, 1)
        self._update_labels()

    def set_domain(self, lo, hi) -> None:
        """The world-space box the sliders span (the training cube)."""
        self.lo, self.hi = np.asarray(lo, float), np.asarray(hi, float)
        self._update_labels()

    def offset(self, axis: int) -> float:
        t = self.sliders[axis].value() / STEPS
        return float(self.lo[axis] + t * (self.hi[axis] - self.lo[axis]))

    def set_offset(self, axis: int, world: float) -> None:
        span = self.hi[axis] - self.lo[axis]
        self.sliders[axis].setValue(int(round((world - self.lo[axis]) / span * STEPS)) if span > 0 else STEPS // 2)

    def enabled(self) -> dict[int, float]:
        return {a: self.offset(a) for a in range(3) if self.toggles[a].isChecked()}

    def _update_labels(self) -> None:
        for a in range(3):
            self.labels[a].setText(f"{self.offset(a):.4g}")

    def _changed(self, *_):
        self._update_labels()
        self.changed.emit(self.enabled())

    # -- settings -------------------------------------------------------------------------------------
    def save(self, s) -> None:
        for a, name in enumerate(AXES):
            s.set(f"slices/{name}_on", self.toggles[a].isChecked())
            s.set(f"slices/{name}_pos", self.sliders[a].value())
        s.set("slices/opacity", self.opacity.value())

    def restore(self, s) -> None:
        blocker = QtCore.QSignalBlocker(self)  # noqa: F841
        for a, name in enumerate(AXES):
            on, frac = DEFAULTS[a]
            self.toggles[a].setChecked(s.get(f"slices/{name}_on", on))
            self.sliders[a].setValue(s.get(f"slices/{name}_pos", int(frac * STEPS)))
        self.opacity.setValue(s.get("slices/opacity", OPACITY))
        self._update_labels()
