"""What the shape worker tells the window about an opened file, and the small pure helpers it uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..common import frames


@dataclass(frozen=True)
class Opened:
    """A file that loaded and is ready (sent to the GUI thread once, replacing the previous one)."""

    path: str
    kind: str  # 'shape' or 'checkpoint'
    report_lines: list
    notices: list
    points: np.ndarray  # input for display (float32, maybe subsampled); empty when not available
    cells: np.ndarray | None  # VTK cells of the input mesh (None for point clouds)
    domain: tuple  # (lo, hi) world corners of the training cube
    trainable: bool
    steps_done: int
    config: object  # the FitConfig of the session / checkpoint
    device: str
    cloud: object = None  # cloud.state.CloudState for a point cloud (its normals, glyphs, the network picked for it)


def domain_corners(normalization) -> tuple:
    """(lo, hi): the world corners (3,) of the training cube [-1, 1]^3."""
    return normalization.to_world(np.full(3, -1.0)), normalization.to_world(np.full(3, 1.0))


def checkpoint_lines(path: str, header: dict) -> list[str]:
    """The Data dock's report of a checkpoint (its network, target, steps and input)."""
    model = header["config"]["model"]
    return [
        f"checkpoint:  {path}",
        f"network:     {model['kind']} (width {model['width']}, depth {model['depth']})",
        f"target:      {header.get('target')}",
        f"steps:       {header.get('trainer', {}).get('step', 0)}",
        f"input:       {header.get('source') or '(not recorded)'}",
    ]


def warm_up() -> None:
    """Import what training and previews use, once, before any training. A module imported for the first
    time on this thread holds the GIL (and the import lock) for up to half a second: the window would
    freeze for that long in the middle of the first live preview."""
    import importlib

    for name in ("inrview.shape", "inrview.extract", "inrview.extract.mc", "skimage.measure", "trimesh"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    try:
        from ...extract import mc

        mc.vtk_available()  # loads VTK's marching cubes and starts its thread pool
    except (ImportError, AttributeError):
        pass
    frames.diverging_lut()
