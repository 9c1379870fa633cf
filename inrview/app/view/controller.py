"""How the 3D view looks and where it looks from: render styles, orthographic projection, the up axis (read
from the file where the format says it: glTF is Y-up), copy and paste of a viewpoint as text, and named
saved views kept in the settings.

It talks to the shared viewport (common/viewport.py) and hears about new files through the shape controller's
`file_opened` signal; the viewpoints as text are common/camera.py's.
"""

from __future__ import annotations

import json
from pathlib import Path

from PyQt6 import QtWidgets

from ..common import camera as cam
from ..common.actions import make_action
from ..common.controller import Controller, Dock
from .panel import ViewPanel

#: File formats whose specification fixes the up axis (glTF 2.0: +Y is up).
UP_FROM_FORMAT = {".gltf": 1, ".glb": 1}


class ViewController(Controller):
    def __init__(self, window):
        super().__init__(window)
        self.viewport = window.viewport
        self.panel = ViewPanel()
        self.saved: dict[str, dict] = {}  # name -> camera state
        w = window
        self.act_copy = make_action(
            w, "&Copy view", self.copy_view, "Ctrl+Shift+C", "Put the viewpoint on the clipboard as one line of text"
        )
        self.act_paste = make_action(
            w, "&Paste view", self.paste_view, "Ctrl+Shift+V", "Look from a viewpoint copied here or elsewhere"
        )
        self.act_save = make_action(w, "&Save view…", self.save_view_dialog, "Ctrl+Alt+S", "Keep this viewpoint")
        self.act_restore = make_action(w, "&Go to view", self._restore_selected, tip="Look from the selected view")
        self.act_delete = make_action(w, "&Delete view", self._delete_selected, tip="Forget the selected view")
        self.act_ortho = make_action(
            w, "&Orthographic", self.set_orthographic, "O", "Parallel projection, no perspective", checkable=True
        )
        self.panel.add_action_buttons([self.act_save, self.act_restore, self.act_copy, self.act_paste, self.act_delete])
        p = self.panel
        p.style_changed.connect(self.viewport.set_render_style)
        p.orthographic_toggled.connect(self.set_orthographic)
        p.up_changed.connect(self.set_up_axis)
        p.restore_clicked.connect(self.restore_view)
        window.shape.file_opened.connect(self._file_opened)

    # == the window's hooks ============================================================================
    def docks(self) -> list[Dock]:
        return [Dock("view", "View", self.panel, "right", tab_with="model")]

    def view_actions(self) -> list:
        return [self.act_ortho, self.act_copy, self.act_paste, self.act_save]

    def update_actions(self) -> None:
        has = bool(self.saved)
        self.act_restore.setEnabled(has)
        self.act_delete.setEnabled(has)

    def restore_settings(self, s) -> None:
        try:
            raw = json.loads(s.get("view/saved", "{}"))
            self.saved = {str(k): cam.from_text(v) for k, v in raw.items()}
        except (ValueError, AttributeError):
            self.saved = {}  # a damaged entry is dropped rather than stopping the window
        self.panel.set_saved(list(self.saved))
        self.set_up_axis(2 if s.get("view/up", "Y") == "Z" else 1)
        self.panel.set_style(s.get("view/style", "smooth"), s.get("view/point_size", 4.0))

    def save_settings(self, s) -> None:
        s.set("view/saved", json.dumps({k: cam.to_text(v) for k, v in self.saved.items()}))
        s.set("view/up", "Z" if self.viewport.up_axis == 2 else "Y")
        s.set("view/style", self.viewport.render_style)
        s.set("view/point_size", self.viewport.point_size)

    # == viewpoints ====================================================================================
    def copy_view(self) -> str:
        text = cam.to_text(self.viewport.camera_state())
        QtWidgets.QApplication.clipboard().setText(text)
        self.window.status.showMessage("viewpoint copied", 3000)
        return text

    def paste_view(self, text: str | None = None) -> bool:
        text = QtWidgets.QApplication.clipboard().text() if text is None else text
        try:
            state = cam.from_text(text)
        except ValueError as err:
            self.window.show_error("Cannot paste the view", str(err))
            return False
        self.apply(state)
        return True

    def apply(self, state: dict) -> None:
        self.viewport.set_camera_state(state)
        self.act_ortho.setChecked(state["parallel"])
        self.panel.orthographic.setChecked(state["parallel"])

    def save_view(self, name: str) -> None:
        name = name.strip()
        if name:
            self.saved[name] = self.viewport.camera_state()
            self.panel.set_saved(list(self.saved))
            self.window.update_actions()

    def save_view_dialog(self) -> None:
        name, ok = QtWidgets.QInputDialog.getText(
            self.window, "Save view", "Name of this view:", text=f"view {len(self.saved) + 1}"
        )
        if ok:
            self.save_view(name)

    def restore_view(self, name: str) -> bool:
        if name not in self.saved:
            return False
        self.apply(self.saved[name])
        return True

    def _restore_selected(self) -> None:
        self.restore_view(self.panel.selected_view() or next(iter(self.saved), ""))

    def _delete_selected(self) -> None:
        name = self.panel.selected_view()
        if name in self.saved:
            del self.saved[name]
            self.panel.set_saved(list(self.saved))
            self.window.update_actions()

    # == projection and up axis ========================================================================
    def set_orthographic(self, on: bool) -> None:
        self.viewport.set_orthographic(bool(on))
        for box in (self.act_ortho, self.panel.orthographic):
            if box.isChecked() != bool(on):
                box.setChecked(bool(on))

    def set_up_axis(self, axis: int) -> None:
        if axis != self.viewport.up_axis:
            self.viewport.up_axis = axis
            self.viewport.reset_view()
        self.panel.set_up(axis)

    def _file_opened(self, path: str) -> None:
        axis = UP_FROM_FORMAT.get(Path(path).suffix.lower())
        if axis is not None and axis != self.viewport.up_axis:
            self.window.log("info", f"{Path(path).name}: glTF files are Y-up; the view's up axis is now Y")
            self.set_up_axis(axis)
