"""Loading overlays off the GUI thread: a mesh or point cloud file through the core's loader, or a shape
checkpoint's surface extracted from its field."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..common.command_thread import CommandThread
from ..space.state import checkpoint_task

#: Cells per side of the surface extracted from a checkpoint given as an overlay.
CHECKPOINT_RESOLUTION = 128


class OverlayWorker(CommandThread):
    """Each load answers `done('overlay', {'path', 'points', 'faces' or None})` or `failed('overlay', line)`."""

    def load(self, path: str) -> None:
        self.post("overlay", self._load, str(path))

    def stop(self) -> None:
        """Nothing trains here."""

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        self.quit_loop()
        return self.wait(timeout_ms) if self.isRunning() else True

    def _load(self, path: str) -> dict:
        if checkpoint_task(path) == "shape":
            from ...extract import extract_mesh
            from ...shape.checkpoints import load_field

            field, _ = load_field(path)
            mesh = extract_mesh(field, CHECKPOINT_RESOLUTION)
            points, faces = mesh.vertices, mesh.faces
        else:
            from ...io.loaders import load

            geom = load(path)
            points, faces = geom.vertices, geom.faces
        return {
            "path": path,
            "name": Path(path).name,
            "points": np.asarray(points, np.float32),
            "faces": None if faces is None else np.asarray(faces, np.int64),
        }
