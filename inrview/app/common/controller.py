"""The base of the window's feature controllers (shapes, clouds, images, shape spaces, watching).

A controller owns one feature: its state, the commands it sends to a worker thread, what it draws and its
panels. The window (window.py) holds the controllers in a list and calls the hooks below in that order; every
hook has a do-nothing default, so a controller defines only what its feature needs. Controllers never touch
each other's private attributes: they call small public methods or connect to Qt signals.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6 import QtCore, QtWidgets


@dataclass
class Dock:
    """A dock a controller adds to the 3D tab; the window places it as declared here.

    area: 'left', 'right', 'bottom' or 'top'. below: the name of a dock this one is stacked under (same
    area); tab_with: the name of a dock this one shares a place with, as a tab (a name no controller declares
    is ignored, so a feature can be left out). size: the first width (left, right) or height (bottom, top) in
    pixels. scroll: a tall form that scrolls rather than forcing the window's height. front: raised above the
    docks it is tabbed with."""

    name: str
    title: str
    widget: QtWidgets.QWidget
    area: str
    below: str | None = None
    tab_with: str | None = None
    size: int | None = None
    scroll: bool = False
    front: bool = False


class Controller(QtCore.QObject):
    #: (key, title) of the window tab this controller's widget fills, when it has one (see tab()).
    TAB: tuple[str, str] | None = None

    def __init__(self, window):
        super().__init__(window)
        self.window = window

    # -- building the window ------------------------------------------------------------------------
    def tab(self):
        """The widget of this controller's window tab (None: no tab of its own)."""
        return None

    def docks(self) -> list[Dock]:
        """The docks of the 3D tab this controller adds (placed by the window as each Dock says)."""
        return []

    def file_actions(self) -> list:
        """QActions for the File menu (after Open and Open recent)."""
        return []

    def add_menus(self, menubar) -> None:
        """Add this controller's own menus (between File and View)."""

    def view_actions(self) -> list:
        """QActions for the View menu (after the camera presets)."""
        return []

    def add_to_toolbar(self, toolbar) -> None:
        """Add this controller's buttons to the main toolbar (after Open)."""

    # -- running ------------------------------------------------------------------------------------
    def accepts(self, path: str) -> bool:
        """Whether open_path(path) is this controller's to handle."""
        return False

    def open_path(self, path: str) -> bool:
        """Open a file (only called when accepts(path))."""
        return False

    def update_actions(self) -> None:
        """Enable the actions that make sense now (called on every change of state)."""

    def on_done(self, tag: str, result) -> bool:
        """A worker command finished; True when the tag was this controller's."""
        return False

    def on_failed(self, tag: str, message: str) -> bool:
        """A worker command failed; True when the tag was this controller's (it has told the user)."""
        return False

    # -- settings and closing -----------------------------------------------------------------------
    def restore_settings(self, settings) -> None:
        """Restore panels from the settings (when the window starts)."""

    def save_settings(self, settings) -> None:
        """Save panels to the settings (when the window closes)."""

    def start(self) -> None:
        """The window is built and its settings restored: start what runs in the background."""

    def confirm_close(self) -> bool:
        """Whether the window may close now (a controller may ask the user first; False keeps it open)."""
        return True

    def close(self) -> None:
        """The window is closing: save what must be kept, stop what runs (before any controller's shutdown)."""

    def shutdown(self) -> None:
        """After every controller's close(): end the worker threads this controller owns and wait for them."""

    # -- wiring -------------------------------------------------------------------------------------
    def connect_named(self, source: QtCore.QObject, *names: str) -> None:
        """Connect each signal `name` of source (a worker, a panel) to this controller's `_on_<name>`."""
        for name in names:
            getattr(source, name).connect(getattr(self, f"_on_{name}"))
