"""The desktop app: a PyQt6 window around an embedded PyVista viewport.

This is the only package that imports PyQt6, pyvista or pyvistaqt. Its parts:

- ``window``   the main window: a thin frame holding the feature controllers (how to add one is said there)
- ``shape/``   3D shapes: opening meshes, point clouds and checkpoints, training, the live view, exports
- ``cloud/``   point clouds: normals and glyphs, Compare with screened Poisson
- ``image/``   the 2D image mode
- ``space/``   shape spaces: morph, principal directions, completion of dropped points, training a space
- ``common/``  what the features share: viewport, worker thread, frames, settings, theme, dialogs, generic docks
- ``menus``    the window's menus and toolbar; ``main`` the app's startup; ``scripted`` scripted runs

``make_window()`` below is the one way to build the window (the app, the tests and the scripts use it).
"""

from __future__ import annotations

_APP = None  # the QApplication make_window created: Qt deletes every widget when Python drops it


def make_window(settings=None, restore: bool = True, size: tuple[int, int] | None = None, app_name: str = "inrview"):
    """The main window, ready to show: creates the QApplication if there is none yet (named `app_name`) and
    applies the theme. settings: a common.settings.Settings, or an INI path, or None (INRVIEW_SETTINGS or the
    user's); restore: the saved layout and dock values; size: (width, height) of the window."""
    from PyQt6 import QtCore, QtWidgets

    from .common.settings import Settings
    from .common.theme import apply_theme
    from .window import MainWindow

    QtCore.QCoreApplication.setOrganizationName("inrview")
    QtCore.QCoreApplication.setApplicationName("inrview")
    global _APP
    app = QtWidgets.QApplication.instance()
    if app is None:
        app = _APP = QtWidgets.QApplication([app_name])
    apply_theme(app)
    if not isinstance(settings, Settings):
        settings = Settings(settings)
    win = MainWindow(settings, restore=restore)
    if size:
        win.resize(*size)
    return win
