"""A dark Fusion theme that matches the viewport's dark background."""

from __future__ import annotations

from PyQt6 import QtGui, QtWidgets


def apply_theme(app: QtWidgets.QApplication) -> None:
    app.setStyle("Fusion")
    C = QtGui.QColor
    R = QtGui.QPalette.ColorRole
    pal = QtGui.QPalette()
    base, window, text, mid = C("#1e2127"), C("#272b33"), C("#dcdfe4"), C("#3a3f4b")
    for role, color in (
        (R.Window, window),
        (R.WindowText, text),
        (R.Base, base),
        (R.AlternateBase, window),
        (R.ToolTipBase, C("#30343d")),
        (R.ToolTipText, text),
        (R.Text, text),
        (R.Button, window),
        (R.ButtonText, text),
        (R.BrightText, C("#ff6b6b")),
        (R.Highlight, C("#d9a656")),
        (R.HighlightedText, C("#15171b")),
        (R.Link, C("#6ab0de")),
        (R.Mid, mid),
        (R.Dark, C("#16181d")),
        (R.Light, C("#4a505c")),
        (R.PlaceholderText, C("#7c8490")),
    ):
        pal.setColor(role, color)
    disabled = QtGui.QPalette.ColorGroup.Disabled
    for role in (R.WindowText, R.Text, R.ButtonText):
        pal.setColor(disabled, role, C("#6b717c"))
    app.setPalette(pal)
    app.setStyleSheet(
        "QDockWidget::title { background: #2f343e; padding: 4px 6px; }"
        "QGroupBox { border: 1px solid #3a3f4b; border-radius: 4px; margin-top: 10px; padding-top: 4px; }"
        "QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 3px; color: #c9ccd2; }"
        "QToolBar { border: none; spacing: 2px; }"
        "QStatusBar QLabel { padding: 0 6px; }"
    )
