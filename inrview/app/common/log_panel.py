"""Log dock: messages, warnings and errors with the time they happened; Python logging and warnings too."""

from __future__ import annotations

import html
import logging
import time

from PyQt6 import QtCore, QtGui, QtWidgets

from .forms import column

LEVEL_COLORS = {"debug": "#8a8f98", "info": "#d6d6d6", "warning": "#f0c060", "error": "#ff6b6b"}


class _Bridge(QtCore.QObject):
    message = QtCore.pyqtSignal(str, str)


class QtLogHandler(logging.Handler):
    """Forwards Python log records from any thread to the log dock (through a queued signal)."""

    def __init__(self, panel: LogPanel):
        super().__init__(logging.INFO)
        self.bridge = _Bridge()
        self.bridge.message.connect(panel.add)

    def emit(self, record: logging.LogRecord) -> None:
        level = (
            "error" if record.levelno >= logging.ERROR else "warning" if record.levelno >= logging.WARNING else "info"
        )
        try:
            self.bridge.message.emit(level, self.format(record))
        except RuntimeError:  # the panel is gone (window closed)
            pass


class LogPanel(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        lay = column(self, 2)
        self.text = QtWidgets.QPlainTextEdit(readOnly=True)
        self.text.setMaximumBlockCount(5000)
        self.text.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        lay.addWidget(self.text)
        self.entries: list[tuple[str, str]] = []  # (level, text), kept for tests and the soak report
        self.show_debug = False

    def add(self, level: str, text: str) -> None:
        self.entries.append((level, text))
        if len(self.entries) > 5000:
            del self.entries[:1000]
        if level == "debug" and not self.show_debug:
            return
        stamp = time.strftime("%H:%M:%S")
        color = LEVEL_COLORS.get(level, "#d6d6d6")
        body = html.escape(text).replace("\n", "<br>")
        tag = "" if level in ("info", "debug") else f"<b>{level}:</b> "
        self.text.appendHtml(
            f"<span style='color:#7c8490'>{stamp}</span> <span style='color:{color}'>{tag}{body}</span>"
        )

    def errors(self) -> list[str]:
        return [t for lvl, t in self.entries if lvl == "error"]
