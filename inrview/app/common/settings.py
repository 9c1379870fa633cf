"""Persistent settings (QSettings, INI format) in one place.

The file lives where Qt keeps user settings (``~/.config/inrview/inrview.ini`` on Linux) unless the
environment variable INRVIEW_SETTINGS or the --settings option names another INI file; the tests point it at a
temporary folder so that they never read or write the user's settings. Autosaves go next to the settings file.
"""

from __future__ import annotations

import os
from pathlib import Path

from PyQt6 import QtCore, QtWidgets

ENV = "INRVIEW_SETTINGS"
MAX_RECENT = 10


def widget_value(w: QtWidgets.QWidget):
    """What the settings keep of a plain widget: a check box's state, a combo box's text, else its number
    (spin box, slider)."""
    if isinstance(w, QtWidgets.QAbstractButton):
        return w.isChecked()
    if isinstance(w, QtWidgets.QComboBox):
        return w.currentText()
    return w.value()


def show_value(w: QtWidgets.QWidget, value) -> None:
    """Show a kept value in its widget (a combo box ignores a text it does not list)."""
    if isinstance(w, QtWidgets.QAbstractButton):
        w.setChecked(value)
    elif isinstance(w, QtWidgets.QComboBox):
        w.setCurrentText(value)
    else:
        w.setValue(value)


class Settings:
    def __init__(self, path: str | os.PathLike | None = None):
        path = path or os.environ.get(ENV)
        fmt = QtCore.QSettings.Format.IniFormat
        if path:
            self.qs = QtCore.QSettings(str(path), fmt)
        else:
            self.qs = QtCore.QSettings(fmt, QtCore.QSettings.Scope.UserScope, "inrview", "inrview")

    @property
    def path(self) -> Path:
        return Path(self.qs.fileName())

    def get(self, key: str, default, type_=None):
        """The stored value converted to the default's type (or type_); the default when absent or unusable."""
        t = type_ or type(default)
        if default is None and type_ is None:
            return self.qs.value(key, None)
        try:
            v = self.qs.value(key, default, type=t)
        except (TypeError, ValueError):
            return default
        return default if v is None else v

    def set(self, key: str, value) -> None:
        self.qs.setValue(key, value)

    def set_group(self, group: str, **values) -> None:
        """Store each value under 'group/name'."""
        for name, value in values.items():
            self.qs.setValue(f"{group}/{name}", value)

    def save_widgets(self, group: str, widgets: dict, **values) -> None:
        """Store each widget's value (widgets: {name: (widget, default)}) and each of values under 'group/name'."""
        self.set_group(group, **{name: widget_value(w) for name, (w, _) in widgets.items()}, **values)

    def restore_widgets(self, group: str, widgets: dict) -> None:
        """Show in each widget (widgets: {name: (widget, default)}) its stored value, or its default."""
        for name, (w, default) in widgets.items():
            show_value(w, self.get(f"{group}/{name}", default))

    def sync(self) -> None:
        self.qs.sync()

    # -- files ----------------------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        v = self.qs.value("files/recent", [])
        if isinstance(v, str):
            v = [v] if v else []
        return [str(p) for p in (v or [])][:MAX_RECENT]

    def add_recent(self, path: str) -> list[str]:
        path = str(Path(path).resolve())
        files = [path] + [p for p in self.recent_files() if p != path]
        self.qs.setValue("files/recent", files[:MAX_RECENT])
        self.qs.setValue("files/last_dir", str(Path(path).parent))
        return files[:MAX_RECENT]

    def clear_recent(self) -> None:
        self.qs.setValue("files/recent", [])

    def last_dir(self) -> str:
        d = self.get("files/last_dir", "")
        return d if d and Path(d).is_dir() else str(Path.home())

    def autosave_dir(self) -> Path:
        d = self.path.parent / "autosave"
        return d

    def autosave_path(self, source: str) -> Path:
        """Where the running work on `source` is autosaved (one file per input name)."""
        stem = Path(source).stem or "shape"
        return self.autosave_dir() / f"{stem}.autosave.safetensors"
