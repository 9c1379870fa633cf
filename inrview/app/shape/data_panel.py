"""Data dock: the load report of the open file, how its input and the fitted surface are shown, and for a
point cloud where the normals training uses come from (and their glyphs)."""

from __future__ import annotations

from PyQt6 import QtCore, QtGui, QtWidgets

from ..cloud.state import NORMAL_CHOICES
from ..common.forms import column

STYLES = {"Points until fitted": "until_fitted", "Points": "points", "Translucent mesh": "mesh", "Hidden": "hidden"}


class DataPanel(QtWidgets.QWidget):
    input_style_changed = QtCore.pyqtSignal(str, float)  # style, opacity
    layer_toggled = QtCore.pyqtSignal(str, bool)  # layer name, visible
    normals_mode_changed = QtCore.pyqtSignal(str)  # 'auto' | 'file' | 'orient' | 'estimate' | 'none'

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = column(self, 6)
        self.report = QtWidgets.QPlainTextEdit(readOnly=True)
        self.report.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        self.report.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.WidgetWidth)  # bounds and size in view
        self.report.setPlaceholderText("Drop a mesh, point cloud or checkpoint here, or use File > Open.")
        self.report.setMinimumHeight(90)
        lay.addWidget(self.report, 1)
        form = QtWidgets.QFormLayout()
        self.style = QtWidgets.QComboBox()
        self.style.addItems(list(STYLES))
        self.style.setToolTip("How the input is drawn under the fitted surface")
        self.opacity = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity.setRange(5, 100)
        self.opacity.setValue(25)
        self.opacity.setToolTip("Opacity of the input")
        self.normals = QtWidgets.QComboBox()
        for mode, label in NORMAL_CHOICES.items():
            self.normals.addItem(label, mode)
        self.normals.setToolTip(
            "Point clouds: the normals training uses (as `inrview reconstruct --normals`).\n"
            "auto: the file's (re-oriented when they look unoriented), else estimated;\n"
            "estimate: PCA over 30 neighbours, oriented consistently (the flips are reported);\n"
            "none: the normal-free loss (IGR: a ReLU network started as a sphere)"
        )
        self.normals.setEnabled(False)
        form.addRow("Input", self.style)
        form.addRow("Opacity", self.opacity)
        form.addRow("Normals", self.normals)
        lay.addLayout(form)
        row = QtWidgets.QGridLayout()
        self.show_surface = QtWidgets.QCheckBox("Fitted surface", checked=True)
        self.show_domain = QtWidgets.QCheckBox("Domain box", checked=True)
        self.show_domain.setToolTip("The cube the network is trained in")
        self.show_normals = QtWidgets.QCheckBox("Normals", checked=False)
        self.show_normals.setToolTip("Point clouds: the normals training uses, as glyphs at a subset of the points")
        self.show_normals.setEnabled(False)
        row.addWidget(self.show_surface, 0, 0)
        row.addWidget(self.show_domain, 0, 1)
        row.addWidget(self.show_normals, 1, 0)
        row.setColumnStretch(2, 1)
        lay.addLayout(row)
        self.style.currentTextChanged.connect(self._emit_style)
        self.opacity.valueChanged.connect(self._emit_style)
        self.show_surface.toggled.connect(lambda v: self.layer_toggled.emit("surface", v))
        self.show_domain.toggled.connect(lambda v: self.layer_toggled.emit("domain", v))
        self.show_normals.toggled.connect(lambda v: self.layer_toggled.emit("normals", v))
        self.normals.currentIndexChanged.connect(lambda *_: self.normals_mode_changed.emit(self.normals_mode()))

    def _emit_style(self, *_):
        self.input_style_changed.emit(self.input_style(), self.opacity.value() / 100.0)

    def input_style(self) -> str:
        return STYLES[self.style.currentText()]

    def normals_mode(self) -> str:
        return self.normals.currentData()

    def set_normals_mode(self, mode: str) -> None:
        """Show a mode without announcing it as the user's change."""
        i = self.normals.findData(mode)
        if i >= 0:
            blocker = QtCore.QSignalBlocker(self.normals)  # noqa: F841
            self.normals.setCurrentIndex(i)

    def set_cloud(self, mode: str | None, has_normals: bool = False) -> None:
        """A point cloud is open (its normals mode) or not (None: a mesh or a checkpoint); the glyph toggle is
        off and disabled when there are no normals to show."""
        self.normals.setEnabled(mode is not None)
        if mode is not None:
            self.set_normals_mode(mode)
        self.show_normals.setEnabled(has_normals)
        if not has_normals:
            self.show_normals.setChecked(False)

    def set_report(self, lines: list[str]) -> None:
        """The load report; a long path on the first line is shortened to the file name (full path in the
        tooltip)."""
        from pathlib import Path

        lines = list(lines)
        if lines and ":" in lines[0]:
            key, _, value = lines[0].partition(":")
            self.report.setToolTip(value.strip())
            lines[0] = f"{key}:{' ' * (12 - len(key) - 1)}{Path(value.strip()).name}"
        self.report.setPlainText("\n".join(lines))

    # -- settings -------------------------------------------------------------------------------------
    def _kept(self) -> dict:
        """The widgets the settings keep, by name, with their defaults."""
        return {
            "style": (self.style, "Points until fitted"),
            "opacity": (self.opacity, 25),
            "show_surface": (self.show_surface, True),
            "show_domain": (self.show_domain, True),
        }

    def save(self, s) -> None:
        s.save_widgets("data", self._kept(), normals=self.normals_mode())

    def restore(self, s) -> None:
        blocker = QtCore.QSignalBlocker(self)  # noqa: F841 (restoring is not a user change)
        s.restore_widgets("data", self._kept())
        self.set_normals_mode(s.get("data/normals", "auto"))
