"""The Runs dock's widgets: a filter, the table of runs (newest first), the actions and the compared curves."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from ..common.forms import column

#: The colours of the two compared runs, in the view and on the plot (A warm, B green: both unlike the
#: blue-grey background and unlike each other).
COMPARE_COLORS = ("#f08a3c", "#4cd45a")
COLUMNS = ("#", "when", "input", "command", "model", "steps", "time", "measure", "status")


class RunsPanel(QtWidgets.QWidget):
    filter_changed = QtCore.pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = column(self, 2)
        top = QtWidgets.QHBoxLayout()
        self.filter = QtWidgets.QLineEdit(placeholderText="filter: input, command, label or model")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.filter_changed)
        self.record = QtWidgets.QCheckBox("Record fits")
        self.record.setChecked(True)
        self.record.setToolTip("Keep every fit of the app in the history of runs (`inrview runs` lists them)")
        top.addWidget(self.filter, 1)
        top.addWidget(self.record)
        lay.addLayout(top)
        body = QtWidgets.QHBoxLayout()
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(90)
        body.addWidget(self.table, 3)
        self.plot = pg.PlotWidget(background="#1b1e24")
        self.plot.setLogMode(x=False, y=True)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.setMenuEnabled(False)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setMinimumWidth(220)
        self.legend = self.plot.addLegend(offset=(-8, 8), labelTextColor="#dddddd")
        body.addWidget(self.plot, 2)
        lay.addLayout(body, 1)
        row = QtWidgets.QHBoxLayout()
        self.buttons = {}
        for key, text, tip in (
            ("reopen", "Reopen", "Open the run's checkpoint (or its mesh) in the view"),
            ("continue", "Continue", "Open the run's checkpoint and train it further with the budget in the dock"),
            ("compare", "Compare", "Select two runs: their surfaces overlaid in the view, their losses on one plot"),
            ("clear", "Clear comparison", "Remove the compared surfaces and curves"),
            ("remove", "Remove", "Forget the selected runs and delete the files kept in their folders"),
        ):
            b = QtWidgets.QPushButton(text)
            b.setToolTip(tip)
            row.addWidget(b)
            self.buttons[key] = b
        row.addStretch(1)
        lay.addLayout(row)
        self.runs: list = []

    def show_runs(self, runs: list) -> None:
        """Fill the table (keeping the selection of runs still listed)."""
        keep = set(self.selected_ids())
        self.runs = list(runs)
        t = self.table
        t.setRowCount(len(runs))
        for i, r in enumerate(runs):
            cells = (
                str(r.id),
                r.when(),
                r.label or r.source.replace("\\", "/").rsplit("/", 1)[-1],
                r.command,
                r.model or "-",
                str(r.steps),
                f"{r.seconds:.1f} s",
                r.measure_text(),
                r.status,
            )
            for j, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(r.source if j == 2 else text)
                t.setItem(i, j, item)
        t.resizeColumnsToContents()
        t.clearSelection()
        mode = QtCore.QItemSelectionModel.SelectionFlag.Select | QtCore.QItemSelectionModel.SelectionFlag.Rows
        for i, r in enumerate(runs):
            if r.id in keep:
                t.selectionModel().select(t.model().index(i, 0), mode)

    def select_ids(self, ids) -> None:
        t = self.table
        t.clearSelection()
        mode = QtCore.QItemSelectionModel.SelectionFlag.Select | QtCore.QItemSelectionModel.SelectionFlag.Rows
        for i, r in enumerate(self.runs):
            if r.id in ids:
                t.selectionModel().select(t.model().index(i, 0), mode)

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.runs[r].id for r in rows if r < len(self.runs)]

    def show_curves(self, runs: list) -> None:
        """The loss curves of the compared runs, one colour each (log scale)."""
        self.clear_curves()
        for run, color in zip(runs, COMPARE_COLORS):
            if run.curve:
                steps, values = np.asarray(run.curve, float).T
                ok = np.isfinite(values) & (values > 0)
                self.plot.plot(steps[ok], values[ok], pen=pg.mkPen(color, width=2), name=run.name)

    def clear_curves(self) -> None:
        self.plot.clear()
        self.legend.clear()

    def curve_items(self) -> list:
        return [i for i in self.plot.listDataItems()]
