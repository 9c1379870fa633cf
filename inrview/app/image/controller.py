"""The image mode as a tab of the window: pictures dropped or opened anywhere in the window come here.

The image mode is optional: when its widget cannot be built the 3D window still opens (with a warning in
the log) and pictures are not offered in the open dialog.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6 import QtCore, QtWidgets

from ..common.controller import Controller


class ImageController(Controller):
    TAB = ("image", "2D images")

    def __init__(self, window):
        super().__init__(window)
        self.widget = None  # panel.ImageModeWidget
        self.suffixes: tuple = ()
        try:
            from .panel import IMAGE_SUFFIXES, ImageModeWidget

            self.widget = ImageModeWidget()
            self.widget.settings = window.settings
            self.suffixes = IMAGE_SUFFIXES
        except Exception as err:  # the image mode is optional; the 3D window must still open
            message = f"image mode unavailable: {err}"
            QtCore.QTimer.singleShot(0, lambda: window.log("warning", message))

    @property
    def available(self) -> bool:
        return self.widget is not None

    def tab(self):
        if self.widget is None:
            return None
        scroll = QtWidgets.QScrollArea()  # its own minimum size must not set the window's
        scroll.setWidget(self.widget)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        return scroll

    def accepts(self, path: str) -> bool:
        return self.widget is not None and Path(path).suffix.lower() in self.suffixes

    def open_path(self, path: str) -> bool:
        self.widget.open_image(path)
        self.window.add_recent(path)
        return True

    def close(self) -> None:
        if self.widget is not None:
            self.widget.shutdown()  # its worker thread too must end before the process does
