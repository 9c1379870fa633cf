"""QAction construction shared by the window and its controllers."""

from __future__ import annotations

from PyQt6 import QtGui


def make_action(w, text: str, slot, shortcut=None, tip: str = "", icon=None, checkable=False) -> QtGui.QAction:
    """An action of widget `w` calling `slot`; tip goes to the status bar and the tooltip (with the shortcut);
    icon: a QStyle.StandardPixmap."""
    a = QtGui.QAction(text, w)
    if shortcut:
        a.setShortcut(QtGui.QKeySequence(shortcut))
    if tip:
        a.setStatusTip(tip)
        a.setToolTip(tip + (f" ({a.shortcut().toString()})" if shortcut else ""))
    if icon is not None:
        a.setIcon(w.style().standardIcon(icon))
    a.setCheckable(checkable)
    a.triggered.connect(slot)
    return a
