"""Export and save: screenshots at any size, meshes in the input's units, checkpoints, autosave.

A mixin of the main window (window.py); everything that reads the network is queued to the worker.
"""
from __future__ import annotations

from pathlib import Path


class ExportsMixin:
    def export_screenshot(self, path: str, width: int, height: int, transparent: bool = False) -> tuple[int, int]:
        size = self.viewport.save_image(path, width, height, transparent)
        self.log("info", f"saved a {size[0]} x {size[1]} screenshot to {path}")
        return size

    def export_screenshot_dialog(self) -> None:
        from .dialogs import ScreenshotDialog, save_path

        vp = self.viewport
        dlg = ScreenshotDialog(self.settings, (vp.width(), vp.height()), self)
        if not dlg.exec():
            return
        w, h, t = dlg.values()
        stem = Path(self.current.path).stem if self.current else "inrview"
        path = save_path(self, self.settings, "Save screenshot", "PNG image (*.png)", f"{stem}.png", "screenshot")
        if path:
            try:
                self.export_screenshot(path, w, h, t)
            except Exception as err:
                self.show_error("Cannot save screenshot", f"{path}: {err}")

    def export_mesh_dialog(self) -> None:
        from .dialogs import MESH_FILTER, MeshExportDialog, save_path

        if self.worker.field is None:
            self.show_error("Nothing to export", "Train a network or open a checkpoint first.")
            return
        dlg = MeshExportDialog(self.settings, self)
        if not dlg.exec():
            return
        stem = Path(self.current.path).stem if self.current else "surface"
        path = save_path(self, self.settings, "Export mesh", MESH_FILTER, f"{stem}_inr.ply", "mesh")
        if path:
            self.worker.export_mesh(path, dlg.resolution.value())
            self.log("info", f"extracting the surface at resolution {dlg.resolution.value()} for {path}")

    def save_checkpoint_dialog(self) -> None:
        from .dialogs import CHECKPOINT_FILTER, save_path

        if self.worker.field is None:
            self.show_error("Nothing to save", "Open a shape and train it first.")
            return
        stem = Path(self.current.path).stem if self.current else "shape"
        path = save_path(self, self.settings, "Save checkpoint", CHECKPOINT_FILTER, f"{stem}.safetensors", "checkpoint")
        if path:
            self.worker.save_checkpoint(path)

    def autosave(self) -> None:
        """Save the running work next to the settings (called by a timer while training, and on close)."""
        s = self.worker.session
        if s is None or s.trainer.state.step == 0:
            return
        p = self.settings.autosave_path(s.geometry.source or "shape")
        p.parent.mkdir(parents=True, exist_ok=True)
        self.worker.save_checkpoint(str(p), tag="autosave")

    def set_autosave_interval(self, seconds: float) -> None:
        self.autosave_timer.setInterval(max(1, int(seconds * 1000)))
