"""The live measures of the surface (Chamfer, normal consistency, IoU) as curves against the step, drawn
under the loss (pyqtgraph). Hidden until a run sends measures."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

#: measure key -> (label, colour, axis: 'left' distance, 'right' a 0..1 score)
MEASURES = {
    "chamfer_l1": ("Chamfer L1", "#f0a35e", "left"),
    "normal_consistency": ("normal consistency", "#6ab0de", "right"),
    "iou": ("IoU", "#8fd18b", "right"),
    "f_score": ("F-score at 1%", "#d68fd6", "right"),  # unsigned fits: open surfaces have no IoU
}


class MeasuresPlot(pg.PlotWidget):
    """Chamfer on the left axis (log scale), the 0..1 scores on a right axis of their own."""

    def __init__(self, parent=None):
        super().__init__(parent, background="#1b1e24")
        self.setLogMode(x=False, y=True)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setLabel("left", "Chamfer")
        self.setLabel("bottom", "step")
        self.setMenuEnabled(False)
        self.legend = self.addLegend(offset=(-8, 8), labelTextColor="#dddddd")
        self.scores = pg.ViewBox()  # the right axis: normal consistency and IoU in 0..1
        self.showAxis("right")
        self.scene().addItem(self.scores)
        self.getAxis("right").linkToView(self.scores)
        self.getAxis("right").setLabel("score")
        self.scores.setXLink(self.getPlotItem())
        self.scores.setYRange(0.0, 1.0)
        self.getPlotItem().vb.sigResized.connect(
            lambda: self.scores.setGeometry(self.getPlotItem().vb.sceneBoundingRect())
        )
        self.steps: list[int] = []
        self.values: dict[str, list[float]] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.setVisible(False)

    def clear_measures(self) -> None:
        for k, c in self.curves.items():
            (self.scores if MEASURES[k][2] == "right" else self.getPlotItem()).removeItem(c)
        self.legend.clear()
        self.curves.clear()
        self.steps.clear()
        self.values.clear()
        self.setVisible(False)

    def add(self, step: int, measures: dict) -> None:
        """One set of measures at a step (a step before the last one starts over: a new run)."""
        if self.steps and step < self.steps[-1]:
            self.clear_measures()
        self.steps.append(int(step))
        for k in MEASURES:
            if k in measures and measures[k] is not None:
                self.values.setdefault(k, [np.nan] * (len(self.steps) - 1))
        for k, series in self.values.items():
            series.append(float(measures.get(k, np.nan) if measures.get(k) is not None else np.nan))
        self.setVisible(True)
        self.redraw()

    def redraw(self) -> None:
        x = np.asarray(self.steps, float)
        for k, series in self.values.items():
            label, color, side = MEASURES[k]
            c = self.curves.get(k)
            if c is None:
                c = pg.PlotDataItem(name=label, pen=pg.mkPen(color, width=2), connect="finite")
                (self.scores.addItem if side == "right" else self.addItem)(c)
                if side == "right":
                    self.legend.addItem(c, label)
                self.curves[k] = c
            y = np.asarray(series, float)
            c.setData(x, np.where(y > 0, y, np.nan) if side == "left" else y)
