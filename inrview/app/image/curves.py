"""The image tab's curves: the training loss (MSE, log scale) and the PSNR of the previews beside it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

PLOT_HEIGHT = 130


def _plot(left: str, log: bool) -> pg.PlotWidget:
    p = pg.PlotWidget(background="#1b1e24")
    p.setLogMode(x=False, y=log)
    p.showGrid(x=True, y=True, alpha=0.2)
    p.setLabel("bottom", "step")
    p.setLabel("left", left)
    p.getAxis("left").enableAutoSIPrefix(False)
    p.setMenuEnabled(False)
    p.setMinimumHeight(PLOT_HEIGHT)
    return p


class ImageCurves(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = _plot("loss (MSE)", True)
        self.psnr_plot = _plot("PSNR (dB)", False)
        row.addWidget(self.loss_plot, 1)
        row.addWidget(self.psnr_plot, 1)
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#f0a35e", width=2), connect="finite")
        self.psnr_curve = self.psnr_plot.plot(pen=pg.mkPen("#6ab0de", width=2), symbol="o", symbolSize=4)
        self.loss: list[tuple[int, float]] = []
        self.psnr: list[tuple[int, float]] = []

    def clear(self) -> None:
        self.loss.clear()
        self.psnr.clear()
        self.loss_curve.setData([], [])
        self.psnr_curve.setData([], [])

    def add_loss(self, step: int, value: float | None) -> None:
        if value is None or value <= 0 or (self.loss and step <= self.loss[-1][0]):
            return
        self.loss.append((int(step), float(value)))
        x, y = np.array(self.loss).T
        self.loss_curve.setData(x, y)

    def add_psnr(self, step: int, value: float) -> None:
        if not np.isfinite(value):
            return
        if self.psnr and step <= self.psnr[-1][0]:
            self.psnr[-1] = (int(step), float(value))
        else:
            self.psnr.append((int(step), float(value)))
        x, y = np.array(self.psnr).T
        self.psnr_curve.setData(x, y)
