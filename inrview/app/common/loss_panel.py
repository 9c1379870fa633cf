"""Loss dock: one curve per named loss term against the step, log scale (pyqtgraph)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from .measures_plot import MeasuresPlot

COLORS = ["#f0a35e", "#6ab0de", "#8fd18b", "#e07b9b", "#c3a6f0", "#e8d36a", "#7fd6cf"]


class LossPanel(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.plot = pg.PlotWidget(background="#1b1e24")
        self.plot.setLogMode(x=False, y=True)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setMenuEnabled(False)
        self.legend = self.plot.addLegend(offset=(-8, 8), labelTextColor="#dddddd")
        lay.addWidget(self.plot)
        self.measures = MeasuresPlot()  # the live measures under the loss, shown once a run sends them
        lay.addWidget(self.measures)
        self.steps: list[int] = []
        self.values: dict[str, list[float]] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._dirty = False
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(250)  # at most four redraws a second, whatever the training rate
        self._timer.timeout.connect(self._redraw)
        self._timer.start()

    def clear(self) -> None:
        for c in self.curves.values():
            self.plot.removeItem(c)
        self.legend.clear()
        self.curves.clear()
        self.steps.clear()
        self.values.clear()
        self._dirty = False
        self.measures.clear_measures()

    def add_measures(self, step: int | None, measures: dict) -> None:
        """Live measures of the surface at a step (None: the last step of the loss curve)."""
        step = step if step is not None else (self.steps[-1] if self.steps else 0)
        self.measures.add(step, measures)

    def add(self, points: list) -> None:
        """points: [(step, {term: value}), ...]; a step before the last one starts a new curve set (a new
        run), the same step again (the trainer's last snapshot repeats it) is skipped."""
        for step, losses in points:
            if self.steps and step == self.steps[-1]:
                continue
            if self.steps and step < self.steps[-1]:
                self.clear()
            self.steps.append(int(step))
            for k, v in losses.items():
                series = self.values.setdefault(k, [np.nan] * (len(self.steps) - 1))
                series.append(float(v))
            for series in self.values.values():
                if len(series) < len(self.steps):
                    series.append(np.nan)
        self._dirty = True

    def _shown_terms(self) -> list[str]:
        terms = list(self.values)
        named = [t for t in terms if t != "total"]
        return named if len(named) == 1 else terms  # 'total' equals the only term: draw it once

    def flush(self) -> None:
        """Draw what has arrived now rather than at the next timer tick (the end of a run)."""
        self._redraw()

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        x = np.asarray(self.steps, dtype=float)
        for i, k in enumerate(self._shown_terms()):
            y = np.asarray(self.values[k], dtype=float)
            y = np.where(y > 0, y, np.nan)  # log scale: non-positive values are not drawn
            c = self.curves.get(k)
            if c is None:
                c = self.plot.plot(
                    name=k, pen=pg.mkPen(COLORS[i % len(COLORS)], width=2 if k != "total" else 1.5), connect="finite"
                )
                c.setDownsampling(auto=True, method="peak")  # (no clip-to-view: it fights auto-range)
                self.curves[k] = c
            c.setData(x, y)

    def last(self) -> dict[str, float]:
        return {k: v[-1] for k, v in self.values.items() if v}
