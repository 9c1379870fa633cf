"""Export and save for 3D shapes: meshes in the input's units, checkpoints, and autosave while training.

Held by the shape controller (controller.py) as `exports`; everything that reads the network is queued to the
shape worker, and its results come back through on_done().
"""

from __future__ import annotations

import time
from pathlib import Path

from PyQt6 import QtCore

AUTOSAVE_SECONDS = 300


class Exports:
    def __init__(self, shape):
        self.shape = shape
        self.window, self.worker, self.settings = shape.window, shape.worker, shape.window.settings
        self.autosave_timer = QtCore.QTimer(shape)
        self.autosave_timer.timeout.connect(self.autosave)
        self.set_autosave_interval(self.settings.get("autosave/seconds", AUTOSAVE_SECONDS))

    def _stem(self, default: str) -> str:
        current = self.shape.current
        return Path(current.path).stem if current else default

    def export_mesh_dialog(self) -> None:
        from ..common.dialogs import MESH_FILTER, MeshExportDialog, save_path

        if self.worker.field is None:
            self.window.show_error("Nothing to export", "Train a network or open a checkpoint first.")
            return
        dlg = MeshExportDialog(self.settings, self.window)
        if not dlg.exec():
            return
        path = save_path(
            self.window, self.settings, "Export mesh", MESH_FILTER, f"{self._stem('surface')}_inr.ply", "mesh"
        )
        if path:
            self.worker.export_mesh(path, dlg.resolution.value())
            self.window.log("info", f"extracting the surface at resolution {dlg.resolution.value()} for {path}")

    def save_checkpoint_dialog(self) -> None:
        from ..common.dialogs import CHECKPOINT_FILTER, save_path

        if self.worker.field is None:
            self.window.show_error("Nothing to save", "Open a shape and train it first.")
            return
        path = save_path(
            self.window,
            self.settings,
            "Save checkpoint",
            CHECKPOINT_FILTER,
            f"{self._stem('shape')}.safetensors",
            "checkpoint",
        )
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

    def check_autosave(self, o) -> None:
        """An opened shape (shape.state.Opened) with an autosave: say where it is."""
        p = self.settings.autosave_path(o.path)
        if o.kind == "shape" and p.exists():
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(p.stat().st_mtime))
            self.window.log("info", f"an autosave of this shape from {when} exists: open {p} to continue it")

    def on_done(self, tag: str, result) -> bool:
        if tag == "export":
            self.window.log(
                "info",
                f"exported {result['path']}: {result['faces']} faces at resolution "
                f"{result['resolution']} ({result['seconds']:.1f} s)",
            )
        elif tag in ("checkpoint", "autosave"):
            self.window.log(
                "info", f"{'autosaved' if tag == 'autosave' else 'saved'} step {result['step']} to {result['path']}"
            )
        else:
            return False
        self.window.statusBar().showMessage(f"{tag}: {result.get('path', '')}", 4000)
        return True

    def close(self) -> None:
        """The window closes: keep the running work."""
        self.autosave_timer.stop()
        if self.worker.training:
            self.window.log("info", "closing: stopping training")
            self.autosave()
