"""Compare dock: the network's surface against screened Poisson on the same points, with the same measures.

Buttons for the actions (Compare with Poisson, Set reference mesh, Export Poisson mesh), the view mode
(inrview / Poisson / side by side) and a table with one row per surface.
"""

from __future__ import annotations

from PyQt6 import QtCore, QtGui, QtWidgets

from ..common.forms import column
from .state import VIEW_MODES

COLUMNS = ("data→surface mean", "far area", "watertight", "faces", "time", "Chamfer-L1", "F-score")
TIPS = (
    "Mean distance from the input points to the surface, as a share of the points' bounding-box diagonal "
    "(how well the surface explains the data)",
    "Share of the surface's area farther than 2% of the diagonal from every input point (sheets and caps "
    "the data does not support)",
    "Every edge shared by exactly two consistently oriented faces",
    "Triangles of the surface measured (the network's: its latest extracted surface, welded, small "
    "pieces removed, as `inrview reconstruct` measures it)",
    "inrview: training time so far; Poisson: reconstruction and trimming",
    "Two-sided point-to-surface Chamfer-L1 against the reference mesh (normalised units)",
    "F-score against the reference mesh at the threshold in its header",
)
ROWS = (("inrview", "#e3c08a"), ("poisson", "#b5c78f"))


class ComparePanel(QtWidgets.QWidget):
    mode_changed = QtCore.pyqtSignal(str)  # 'inrview' | 'poisson' | 'side'

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = column(self, 4)
        self.buttons = QtWidgets.QHBoxLayout()  # the actions on one line, the view mode under them
        self.buttons.addStretch(1)
        lay.addLayout(self.buttons)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("View:"))
        self.mode_group = QtWidgets.QButtonGroup(self)
        self.mode_buttons: dict[str, QtWidgets.QRadioButton] = {}
        for key, label in VIEW_MODES.items():
            b = QtWidgets.QRadioButton(label)
            b.setChecked(key == "inrview")
            self.mode_group.addButton(b)
            self.mode_buttons[key] = b
            top.addWidget(b)
            b.toggled.connect(lambda on, k=key: on and self.mode_changed.emit(k))
        top.addStretch(1)
        lay.addLayout(top)
        self.table = QtWidgets.QTableWidget(len(ROWS), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setVerticalHeaderLabels(["inrview", "Poisson"])
        for i, tip in enumerate(TIPS):
            self.table.horizontalHeaderItem(i).setToolTip(tip)
        for r, (_, color) in enumerate(ROWS):
            pix = QtGui.QPixmap(10, 10)
            pix.fill(QtGui.QColor(color))
            self.table.verticalHeaderItem(r).setIcon(QtGui.QIcon(pix))
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(70)
        lay.addWidget(self.table, 1)
        self.note = QtWidgets.QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #9aa3b2")
        lay.addWidget(self.note)
        self.clear()

    def add_action_button(self, action) -> QtWidgets.QToolButton:
        b = QtWidgets.QToolButton()
        b.setDefaultAction(action)
        b.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.buttons.insertWidget(self.buttons.count() - 1, b)
        return b

    # -- state ----------------------------------------------------------------------------------------
    def mode(self) -> str:
        return next(k for k, b in self.mode_buttons.items() if b.isChecked())

    def set_mode(self, mode: str) -> None:
        """Select a view mode (emits mode_changed when it changes)."""
        self.mode_buttons[mode].setChecked(True)

    def set_modes_enabled(self, enabled: bool) -> None:
        for b in self.mode_buttons.values():
            b.setEnabled(enabled)

    def clear(self, note: str = "Open a point cloud, train, then Compare with Poisson.") -> None:
        for b in self.mode_buttons.values():
            b.blockSignals(True)
        self.mode_buttons["inrview"].setChecked(True)
        for b in self.mode_buttons.values():
            b.blockSignals(False)
        for r in range(self.table.rowCount()):
            for c in range(self.table.columnCount()):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem("–"))
        self.set_modes_enabled(False)
        self.note.setText(note)

    def show_scores(self, scores: dict, note: str = "") -> None:
        """scores: {'inrview': cloud.Scores | None, 'poisson': cloud.Scores | None}."""
        for r, (key, _) in enumerate(ROWS):
            s = scores.get(key)
            cells = (
                ["–"] * len(COLUMNS)
                if s is None
                else [
                    f"{100 * s.mean_rel:.3f}%",
                    f"{100 * s.far_area:.2f}%",
                    "yes" if s.watertight else "no",
                    f"{s.faces:,}",
                    f"{s.seconds:.1f} s",
                    "–" if s.chamfer is None else f"{s.chamfer:.3e}",
                    "–" if s.f_score is None else f"{s.f_score:.4f} @{s.threshold:g}",
                ]
            )
            for c, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        if note:
            self.note.setText(note)

    def value(self, row: str, column: str) -> str:
        """The text of one cell (row 'inrview' or 'poisson', column one of COLUMNS)."""
        r = [k for k, _ in ROWS].index(row)
        item = self.table.item(r, COLUMNS.index(column))
        return item.text() if item is not None else ""
