"""The image mode's pictures: RGB uint8 arrays shown with zoom and pan, a pixel under the mouse, colour bars.

Several views can share one Camera (target | fit | error side by side): zooming or panning one moves them all.
The camera's zoom is screen pixels per picture pixel of the first picture shown (the full-size target), so a
preview rendered smaller than the image is drawn at the same place and size as the target.
"""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from ...image.views import magnitude_view, signed_view, to_uint8

MIN_ZOOM, MAX_ZOOM = 1 / 64, 256.0


class Camera(QtCore.QObject):
    """Zoom and centre (in image pixels) shared by views; fit=True follows the widget's size."""

    changed = QtCore.pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.zoom = 1.0
        self.center = QtCore.QPointF(0, 0)
        self.fit = True
        self.size = (1, 1)  # (width, height) of the image the coordinates refer to

    def set(self, zoom: float, center: QtCore.QPointF) -> None:
        self.zoom = float(np.clip(zoom, MIN_ZOOM, MAX_ZOOM))
        self.center = QtCore.QPointF(center)
        self.fit = False
        self.changed.emit()

    def reset(self) -> None:
        self.fit = True
        self.changed.emit()


def qpixmap(rgb: np.ndarray) -> QtGui.QPixmap:
    a = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = a.shape[:2]
    return QtGui.QPixmap.fromImage(QtGui.QImage(a.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy())


class ImageView(QtWidgets.QWidget):
    """One picture: wheel zooms about the mouse, left drag pans, double click fits it in again; emits
    `hovered(x, y)` in image pixels of the camera's size (-1, -1 outside the picture)."""

    hovered = QtCore.pyqtSignal(int, int)

    def __init__(self, camera: Camera | None = None, title: str = "", parent=None):
        super().__init__(parent)
        self.camera = camera or Camera(self)
        self.camera.changed.connect(self.update)
        self.title = title
        self.setMinimumSize(120, 120)
        self.setMouseTracking(True)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)
        self._pixmap: QtGui.QPixmap | None = None
        self.picture: np.ndarray | None = None
        self._drag: QtCore.QPointF | None = None

    def set_picture(self, rgb: np.ndarray | None) -> None:
        self.picture = rgb
        self._pixmap = None if rgb is None else qpixmap(rgb)
        self.update()

    # -- geometry ------------------------------------------------------------------------------------
    def zoom(self) -> float:
        """Screen pixels per image pixel now (the fitted zoom while the camera follows the widget)."""
        c = self.camera
        if c.fit:
            return max(1e-6, min(self.width() / c.size[0], self.height() / c.size[1]))
        return c.zoom

    def center(self) -> QtCore.QPointF:
        c = self.camera
        return QtCore.QPointF(c.size[0] / 2, c.size[1] / 2) if c.fit else c.center

    def to_image(self, pos: QtCore.QPointF) -> QtCore.QPointF:
        z, c = self.zoom(), self.center()
        return QtCore.QPointF(c.x() + (pos.x() - self.width() / 2) / z, c.y() + (pos.y() - self.height() / 2) / z)

    def target_rect(self) -> QtCore.QRectF:
        """Where the picture is drawn in the widget."""
        z, c = self.zoom(), self.center()
        w, h = self.camera.size
        return QtCore.QRectF(self.width() / 2 - c.x() * z, self.height() / 2 - c.y() * z, w * z, h * z)

    def zoom_at(self, factor: float, pos: QtCore.QPointF | None = None) -> None:
        """Zoom by factor keeping the picture point under pos (default: the middle) in place."""
        pos = pos if pos is not None else QtCore.QPointF(self.width() / 2, self.height() / 2)
        before = self.to_image(pos)
        z = float(np.clip(self.zoom() * factor, MIN_ZOOM, MAX_ZOOM))
        centre = QtCore.QPointF(
            before.x() - (pos.x() - self.width() / 2) / z, before.y() - (pos.y() - self.height() / 2) / z
        )
        self.camera.set(z, centre)

    # -- events --------------------------------------------------------------------------------------
    def paintEvent(self, ev) -> None:  # noqa: N802
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor("#1b1e24"))
        if self._pixmap is not None:
            smooth = self.zoom() < 1.0  # enlarged pixels stay sharp squares
            p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, smooth)
            p.drawPixmap(self.target_rect(), self._pixmap, QtCore.QRectF(self._pixmap.rect()))
        if self.title:
            p.setPen(QtGui.QColor("#dddddd"))
            p.drawText(QtCore.QRectF(6, 4, self.width() - 12, 18), self.title)
        p.end()

    def wheelEvent(self, ev: QtGui.QWheelEvent) -> None:  # noqa: N802
        steps = ev.angleDelta().y() / 120.0
        if steps:
            self.zoom_at(1.25**steps, ev.position())

    def mousePressEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            self._drag = ev.position()

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802
        pos = ev.position()
        if self._drag is not None:
            z = self.zoom()
            c = self.center()
            d = pos - self._drag
            self._drag = pos
            self.camera.set(z, QtCore.QPointF(c.x() - d.x() / z, c.y() - d.y() / z))
        q = self.to_image(pos)
        w, h = self.camera.size
        inside = 0 <= q.x() < w and 0 <= q.y() < h
        self.hovered.emit(int(q.x()) if inside else -1, int(q.y()) if inside else -1)

    def mouseReleaseEvent(self, ev) -> None:  # noqa: N802
        self._drag = None

    def mouseDoubleClickEvent(self, ev) -> None:  # noqa: N802
        self.camera.reset()

    def leaveEvent(self, ev) -> None:  # noqa: N802
        self.hovered.emit(-1, -1)


class ColorBar(QtWidgets.QWidget):
    """A vertical colour bar with its scale: a dark-to-bright ramp over 0 .. vmax (the error, a gradient's
    magnitude) or, signed, a blue-white-red one over -vmax .. +vmax (a Laplacian). The labels are the values
    the picture's colours stand for; the ends are clipped ('+' on the top label, '−' on a signed bottom)."""

    def __init__(self, vmax: float, title: str = "error", parent=None):
        super().__init__(parent)
        self.setFixedWidth(84)
        self.setMinimumHeight(120)
        self.set_scale(vmax, title)

    def set_scale(self, vmax: float, title: str, signed: bool = False, tooltip: str = "") -> None:
        self.vmax, self.title, self.signed = float(vmax), title, signed
        t = np.linspace(1.0, 0.0, 128)[:, None]
        ramp = to_uint8(signed_view(2.0 * t - 1.0, 1.0) if signed else magnitude_view(t, 1.0))
        self._pixmap = qpixmap(np.ascontiguousarray(np.repeat(ramp, 12, axis=1)))
        self.setToolTip(tooltip or f"{title}: black = 0, yellow = {self.vmax:.3g} or more")
        self.update()

    def labels(self) -> list[tuple[float, str]]:
        """(height fraction from the bottom, text) of the scale's labels."""
        lo = -self.vmax if self.signed else 0.0
        out = []
        for frac in (0.0, 0.5, 1.0):
            text = f"{lo + frac * (self.vmax - lo):.3g}"
            if frac == 1.0:
                text += "+"
            elif frac == 0.0 and self.signed:
                text = "≤" + text
            out.append((frac, text))
        return out

    def paintEvent(self, ev) -> None:  # noqa: N802
        p = QtGui.QPainter(self)
        p.setPen(self.palette().color(QtGui.QPalette.ColorRole.WindowText))  # readable in light and dark themes
        top, bottom = 24, self.height() - 10
        p.drawText(QtCore.QRectF(0, 2, self.width(), 18), QtCore.Qt.AlignmentFlag.AlignLeft, self.title)
        p.drawPixmap(QtCore.QRectF(4, top, 14, bottom - top), self._pixmap, QtCore.QRectF(self._pixmap.rect()))
        for frac, text in self.labels():
            y = bottom - frac * (bottom - top)
            p.drawText(QtCore.QPointF(22, y + 4), text)
        p.end()
