"""The View dock: how the 3D view draws (render style, point size, orthographic, up axis) and the saved
viewpoints (a list that grows, so it alone scrolls)."""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

from ..common.forms import column
from ..common.viewport import RENDER_STYLES

UP_AXES = {"Y": 1, "Z": 2}


class ViewPanel(QtWidgets.QWidget):
    style_changed = QtCore.pyqtSignal(str, float)  # style, point size
    orthographic_toggled = QtCore.pyqtSignal(bool)
    up_changed = QtCore.pyqtSignal(int)  # 1 (Y) or 2 (Z)
    restore_clicked = QtCore.pyqtSignal(str)  # the saved view's name
    delete_clicked = QtCore.pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = column(self, 6)
        form = QtWidgets.QFormLayout()
        self.style = QtWidgets.QComboBox()
        for key, label in RENDER_STYLES.items():
            self.style.addItem(label, key)
        self.style.setToolTip("How surfaces are drawn: lit smoothly, flat per face, as edges, or as vertices")
        self.point_size = QtWidgets.QDoubleSpinBox(minimum=1.0, maximum=20.0, value=4.0, singleStep=1.0)
        self.point_size.setSuffix(" px")
        self.point_size.setToolTip("Size of the vertices in the Points style")
        self.orthographic = QtWidgets.QCheckBox("Orthographic")
        self.orthographic.setToolTip("Parallel projection: no perspective, sizes compare across the view (O)")
        self.up = QtWidgets.QComboBox()
        for name, axis in UP_AXES.items():
            self.up.addItem(f"{name} up", axis)
        self.up.setToolTip("The axis that points up in the camera presets; glTF files say Y and set it")
        form.addRow("Style", self.style)
        form.addRow("Point size", self.point_size)
        form.addRow("Up axis", self.up)
        form.addRow(self.orthographic)
        lay.addLayout(form)
        lay.addWidget(QtWidgets.QLabel("Saved views"))
        self.saved = QtWidgets.QListWidget()
        self.saved.setToolTip("Double click to go back to a view; they are kept in the settings")
        self.saved.setMinimumHeight(60)
        self.saved.itemDoubleClicked.connect(lambda item: self.restore_clicked.emit(item.text()))
        lay.addWidget(self.saved, 1)
        self.buttons = QtWidgets.QGridLayout()
        lay.addLayout(self.buttons)
        self.style.currentIndexChanged.connect(self._emit_style)
        self.point_size.valueChanged.connect(self._emit_style)
        self.orthographic.toggled.connect(self.orthographic_toggled)
        self.up.currentIndexChanged.connect(lambda *_: self.up_changed.emit(self.up.currentData()))

    def add_action_buttons(self, actions: list) -> None:
        """Buttons for the view actions (Save, Copy, Paste ...), two to a row."""
        for i, a in enumerate(actions):
            b = QtWidgets.QToolButton()
            b.setDefaultAction(a)
            b.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
            self.buttons.addWidget(b, i // 2, i % 2)

    def _emit_style(self, *_) -> None:
        self.point_size.setEnabled(self.style.currentData() == "points")
        self.style_changed.emit(self.style.currentData(), self.point_size.value())

    def selected_view(self) -> str | None:
        item = self.saved.currentItem()
        return item.text() if item is not None else None

    def set_saved(self, names: list[str]) -> None:
        current = self.selected_view()
        self.saved.clear()
        self.saved.addItems(names)
        matches = self.saved.findItems(current or "", QtCore.Qt.MatchFlag.MatchExactly)
        if matches:
            self.saved.setCurrentItem(matches[0])

    def set_up(self, axis: int) -> None:
        blocker = QtCore.QSignalBlocker(self.up)  # noqa: F841 (shown, not the user's change)
        self.up.setCurrentIndex(self.up.findData(axis))

    def set_style(self, style: str, point_size: float) -> None:
        self.point_size.setValue(point_size)
        self.style.setCurrentIndex(self.style.findData(style))
        self._emit_style()
