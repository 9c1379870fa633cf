"""A scan completed end to end, as `inrview space complete` does it: the code (and the scan's pose), the
network adapted to the points, the surface in the scan's frame and its per-vertex confidence."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..extract import Mesh
from .adapt import adapt
from .complete import Completion, complete
from .confidence import vertex_confidence
from .model import Space
from .pose import complete_posed_steps, posed_mesh, to_space

#: Default adaptation steps after the code (0: the code alone).
ADAPT_STEPS = 100


@dataclass(frozen=True)
class ScanResult:
    """mesh (scan's frame), the Completion (code, pose in novelty['pose'], judgement) and the per-vertex
    confidence measures (vertex_confidence)."""

    mesh: Mesh
    result: Completion
    confidence: dict


def complete_scan(
    space: Space,
    points: np.ndarray,
    normals: np.ndarray | None = None,
    pose: str = "rigid",
    adapt_steps: int = ADAPT_STEPS,
    steps: int = 300,
    seconds: float | None = None,
    resolution: int = 128,
) -> ScanResult:
    """Complete points (N, 3) in world units. pose: 'none' (the scan is in the space's frame), 'rigid' or
    'similarity' (found with the code); adapt_steps: fine-tuning of the network on the points afterwards."""
    if pose == "none":
        res = complete(space, points, normals, steps=steps, seconds=seconds)
    else:
        *_, last = complete_posed_steps(space, points, normals, steps, seconds, scale=pose == "similarity")
        res = last.result
    move = to_space(res)
    view = space
    if adapt_steps > 0:
        rot = _rotation_part(move, points)
        view, code = adapt(space, res.code, move(points), None if normals is None else normals @ rot.T, adapt_steps)
        res = dataclasses.replace(res, code=code)
    mesh = posed_mesh(view, res, resolution)
    conf = vertex_confidence(space, mesh.vertices, np.asarray(points), res.alternatives, move)
    return ScanResult(mesh, res, conf)


def _rotation_part(move, points: np.ndarray) -> np.ndarray:
    """The rotation of a similarity map (3, 3), read from its action on the unit axes."""
    o = np.asarray(points[:1], np.float64)
    cols = np.stack([move(o + e[None])[0] - move(o)[0] for e in np.eye(3)], axis=1)
    u, _, vt = np.linalg.svd(cols)
    return u @ vt
