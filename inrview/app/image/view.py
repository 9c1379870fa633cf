"""The image mode's picture: an RGB uint8 array shown scaled to fit."""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets


class ImageView(QtWidgets.QLabel):
    """Shows an RGB uint8 picture scaled to fit (aspect kept; nearest-neighbour when enlarging, so pixels
    stay visible)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Ignored)
        self._pixmap: QtGui.QPixmap | None = None
        self.picture: np.ndarray | None = None

    def set_picture(self, rgb: np.ndarray | None) -> None:
        self.picture = rgb
        if rgb is None:
            self._pixmap = None
            self.clear()
            return
        a = np.ascontiguousarray(rgb, dtype=np.uint8)
        h, w = a.shape[:2]
        qimg = QtGui.QImage(a.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()
        self._pixmap = QtGui.QPixmap.fromImage(qimg)
        self._rescale()

    def resizeEvent(self, ev):  # noqa: N802
        super().resizeEvent(ev)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap is None:
            return
        pm = self._pixmap
        mode = (
            QtCore.Qt.TransformationMode.FastTransformation
            if self.width() > pm.width()
            else QtCore.Qt.TransformationMode.SmoothTransformation
        )
        self.setPixmap(pm.scaled(self.size(), QtCore.Qt.AspectRatioMode.KeepAspectRatio, mode))
