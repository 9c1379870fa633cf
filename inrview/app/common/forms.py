"""Widgets the panels build alike: a column with even margins, a titled form, an integer spin box, the
network-family chooser."""

from __future__ import annotations

from PyQt6 import QtWidgets

from ...config import FAMILIES


def column(widget: QtWidgets.QWidget, margin: int) -> QtWidgets.QVBoxLayout:
    """The widget's vertical layout, with the same margin on every side."""
    lay = QtWidgets.QVBoxLayout(widget)
    lay.setContentsMargins(margin, margin, margin, margin)
    return lay


def form_box(title: str) -> tuple[QtWidgets.QGroupBox, QtWidgets.QFormLayout]:
    """A titled group box and the form laid out in it."""
    box = QtWidgets.QGroupBox(title)
    return box, QtWidgets.QFormLayout(box)


def spin(lo: int, hi: int, value: int, step: int = 1, tip: str = "") -> QtWidgets.QSpinBox:
    """An integer spin box over [lo, hi] showing value, moving by step, with an optional tooltip."""
    w = QtWidgets.QSpinBox()
    w.setRange(lo, hi)
    w.setSingleStep(step)
    w.setValue(value)
    if tip:
        w.setToolTip(tip)
    return w


def family_combo() -> QtWidgets.QComboBox:
    """The network families of the table (config.FAMILIES), by label, each item's data its key."""
    combo = QtWidgets.QComboBox()
    for key, fam in FAMILIES.items():
        combo.addItem(fam.label, key)
    return combo
