"""On-screen help: every key of the window (read from its actions, so the list never goes stale), the mouse,
and the Help menu's links to the documentation (opened with the desktop's viewer for Markdown files)."""

from __future__ import annotations

import html
from pathlib import Path

from PyQt6 import QtCore, QtGui, QtWidgets

#: Help menu entries: label -> file under docs/.
DOCS = {
    "The app (docs/app.md)": "app.md",
    "How it works (docs/how-it-works.md)": "how-it-works.md",
    "Shape spaces (docs/space.md)": "space.md",
    "Benchmarks (docs/benchmarks.md)": "benchmarks.md",
}
MOUSE = [
    ("Left drag", "rotate the 3D view; pan a picture in the 2D tab"),
    ("Right drag or wheel", "zoom the 3D view; the wheel zooms a picture about the mouse"),
    ("Middle or Shift + left drag", "pan the 3D view"),
    ("Double click (2D tab)", "fit the picture in again"),
    ("Drop a file", "open it (meshes, point clouds, checkpoints, pictures)"),
]


def docs_dir() -> Path:
    """The documentation folder of this copy of inrview (beside the package in a source checkout)."""
    import inrview

    return Path(inrview.__file__).resolve().parent.parent / "docs"


def open_doc(w, name: str) -> bool:
    """Open docs/<name> with the desktop's viewer; an error line in the window when it is not there."""
    path = docs_dir() / name
    if not path.is_file():
        w.show_error("Documentation not found", f"{path}: not installed with this copy (see the README)")
        return False
    ok = QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(path)))
    w.log("info" if ok else "warning", f"{'opened' if ok else 'no viewer for'} {path}")
    return ok


def key_rows(w) -> list[tuple[str, str]]:
    """(shortcut, what it does) for every action of the window that has a key, sorted by what it does."""
    rows = {}
    for a in w.findChildren(QtGui.QAction):
        keys = [k.toString(QtGui.QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts()]
        keys = [k for k in keys if k]
        if keys:
            text = a.text().replace("&", "").rstrip("…")
            rows[text] = (" or ".join(keys), text + (f": {a.statusTip()}" if a.statusTip() else ""))
    return sorted(rows.values(), key=lambda r: r[1].lower())


class KeyHelp(QtWidgets.QDialog):
    """The keys and the mouse, in a table that scrolls; not modal, so it can stay open beside the view."""

    def __init__(self, w):
        super().__init__(w)
        self.setWindowTitle("Keys and mouse")
        self.resize(620, 520)
        lay = QtWidgets.QVBoxLayout(self)
        text = QtWidgets.QTextBrowser()
        rows = [("<b>Mouse</b>", "")] + [(html.escape(k), html.escape(v)) for k, v in MOUSE]
        rows += [("<b>Keys</b>", "")] + [(html.escape(k), html.escape(v)) for k, v in key_rows(w)]
        body = "".join(f"<tr><td style='padding-right:14px'><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
        text.setHtml(f"<table>{body}</table><p>F1 or ? shows this list. The docs are in the Help menu.</p>")
        lay.addWidget(text)
        self.table = text
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.close)
        lay.addWidget(close, 0, QtCore.Qt.AlignmentFlag.AlignRight)


def show_keys(w) -> KeyHelp:
    dlg = getattr(w, "key_help", None)
    if dlg is None:
        dlg = w.key_help = KeyHelp(w)
    dlg.show()
    dlg.raise_()
    return dlg
