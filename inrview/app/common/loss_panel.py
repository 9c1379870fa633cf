"""Loss dock: one curve per named loss term against the step, log scale (pyqtgraph), the live measures beside
it, and the warm-up stage of a point-cloud fit marked (its loss is another quantity: when it ends the curve
drops by decades, which is not a blow-up)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from .measures_plot import MeasuresPlot

COLORS = ["#f0a35e", "#6ab0de", "#8fd18b", "#e07b9b", "#c3a6f0", "#e8d36a", "#7fd6cf"]
PLOT_MIN_HEIGHT = 150
#: What each loss term means, in the words of docs/app.md and docs/how-it-works.md (the plot's tooltip).
TERMS = {
    "sphere": "warm-up: the network first fits the distance to a sphere (clouds without a geometric "
    "initialisation; it gives the normal-free loss its sign)",
    "surface": "surface: |f| at the input points (zero on the surface)",
    "eikonal": "eikonal: |∇f| = 1 in the volume (a distance's gradient has unit length)",
    "band": "band: the distance band on volume samples, |f| between d minus half a point spacing and d (d: the "
    "distance to the nearest input point), signed by the winding number when there are normals",
    "normal": "normal: 1 − cos between ∇f and the input normals",
    "off_surface": "off_surface: |f| pushed away from zero away from the surface",
    "mse": "mse: squared error of the field's values against the samples' distances",
    "bce": "bce: cross-entropy of occupancy (inside / outside)",
    "code_reg": "code_reg: keeps the shapes' latent codes small",
    "total": "total: the weighted sum of the terms",
}


class LossPanel(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QHBoxLayout(self)  # side by side: a bottom dock is wide and short
        lay.setContentsMargins(2, 2, 2, 2)
        self.plot = pg.PlotWidget(background="#1b1e24")
        self.plot.setLogMode(x=False, y=True)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setMenuEnabled(False)
        self.plot.setMinimumHeight(PLOT_MIN_HEIGHT)
        self.legend = self.plot.addLegend(offset=(-8, 8), labelTextColor="#dddddd")
        lay.addWidget(self.plot, 1)
        self.measures = MeasuresPlot()  # the live measures beside the loss, shown once a run sends them
        self.measures.setMinimumHeight(PLOT_MIN_HEIGHT)
        lay.addWidget(self.measures, 1)
        self.warmup = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(120, 140, 200, 40), pen=pg.mkPen(None))
        self.warmup_label = pg.InfLineLabel(
            pg.InfiniteLine(angle=90, pen=pg.mkPen("#9fb0d0", style=QtCore.Qt.PenStyle.DashLine)),
            "warm-up",
            position=0.92,
            color="#9fb0d0",
        )
        self.warmup_line = self.warmup_label.line
        self.warmup_steps: tuple[int, int] | None = None
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
        self._mark_warmup(None)

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
        self._mark_warmup(self._warmup_span())
        self.plot.setToolTip("\n".join(TERMS.get(k, k) for k in self._shown_terms()))
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

    def _warmup_span(self) -> tuple[int, int] | None:
        """(first, last) step of the warm-up stage (where the 'sphere' term was reported), or None."""
        sphere = self.values.get("sphere")
        if not sphere:
            return None
        idx = [i for i, v in enumerate(sphere) if np.isfinite(v)]
        return (self.steps[idx[0]], self.steps[idx[-1]]) if idx else None

    def _mark_warmup(self, span: tuple[int, int] | None) -> None:
        """Shade the warm-up stage and draw a dashed line where it ends."""
        if span == self.warmup_steps:
            return
        self.warmup_steps = span
        for item in (self.warmup, self.warmup_line):
            if item.scene() is not None:
                self.plot.removeItem(item)
        if span is not None:
            self.warmup.setRegion(span)
            self.warmup_line.setValue(span[1])
            self.warmup_label.setFormat(f"warm-up ends (step {span[1]})")
            self.plot.addItem(self.warmup)
            self.plot.addItem(self.warmup_line)

    def last(self) -> dict[str, float]:
        return {k: v[-1] for k, v in self.values.items() if v}
