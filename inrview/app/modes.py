"""The 3D mode and the 2D image mode (inrview/app/image_mode.py, when present) as tabs of the window.

A mixin of the main window (window.py): the image mode is optional, and the 3D docks and toolbar are hidden
while it is shown.
"""
from __future__ import annotations

from pathlib import Path

from PyQt6 import QtCore, QtWidgets


class ModesMixin:
    def _central(self) -> QtWidgets.QWidget:
        """The 3D view, and the 2D image mode as a second tab when that module is present."""
        self.tabs = None
        try:
            from .image_mode import IMAGE_SUFFIXES, ImageModeWidget
        except ImportError:
            return self.viewport
        try:
            self.image_mode = ImageModeWidget()
        except Exception as err:  # the image mode is optional; the 3D window must still open
            self.image_mode = None
            QtCore.QTimer.singleShot(0, lambda: self.log("warning", f"image mode unavailable: {err}"))
            return self.viewport
        self.image_suffixes = tuple(IMAGE_SUFFIXES)
        scroll = QtWidgets.QScrollArea()  # its own minimum size must not set the window's
        scroll.setWidget(self.image_mode)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        tabs = QtWidgets.QTabWidget()
        tabs.setDocumentMode(True)
        tabs.addTab(self.viewport, "3D shapes")
        tabs.addTab(scroll, "2D images")
        tabs.currentChanged.connect(self._tab_changed)
        self.tabs = tabs
        self._dock_visible: dict = {}
        return tabs

    def in_image_mode(self) -> bool:
        return self.tabs is not None and self.tabs.currentIndex() == 1

    def _tab_changed(self, index: int) -> None:
        """The docks and the toolbar belong to the 3D mode: hidden while the image mode is shown."""
        image = index == 1
        if image:
            self._dock_visible = {n: d.isVisible() for n, d in self.docks.items()}
            for d in self.docks.values():
                d.hide()
        else:
            for n, d in self.docks.items():
                d.setVisible(self._dock_visible.get(n, True))
        self.toolbar.setVisible(not image)
        self.settings.set("window/mode", "image" if image else "shape")

    def is_image(self, path: str) -> bool:
        return self.image_mode is not None and Path(path).suffix.lower() in self.image_suffixes
