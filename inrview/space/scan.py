"""A scan completed end to end, as `inrview space complete` does it: the code (and the scan's pose), the
network adapted to the points, the surface in the scan's frame and its per-vertex confidence."""

from __future__ import annotations

import dataclasses
import time
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
#: With a wall-clock budget: seconds kept for the surface, its confidence and writing it (at least this
#: share of the budget), and the share of the rest given to the code and pose (the adaptation gets the rest).
RESERVE_SHARE, RESERVE_MIN, POSE_SHARE = 0.3, 3.0, 0.7


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
    started: float | None = None,
) -> ScanResult:
    """Complete points (N, 3) in world units. pose: 'none' (the scan is in the space's frame), 'rigid' or
    'similarity' (found with the code); adapt_steps: fine-tuning of the network on the points afterwards.
    seconds: a wall-clock budget for the whole, counted from perf_counter() time `started` (default now):
    the code and the adaptation end early (at their steps or their share, whichever comes first) so that
    the surface is out in time."""
    t0 = time.perf_counter()
    pose_s, end_s = _shares(seconds, t0 if started is None else started, t0, adapt_steps > 0)
    if pose == "none":
        res = complete(space, points, normals, steps=steps, seconds=pose_s)
    else:
        *_, last = complete_posed_steps(space, points, normals, pose == "similarity", steps=steps, seconds=pose_s)
        res = last.result
    move = to_space(res)
    view = space
    if adapt_steps > 0:
        rot = _rotation_part(move, points)
        nrm = None if normals is None else normals @ rot.T
        left = None if end_s is None else max(end_s - (time.perf_counter() - t0), 0.5)
        view, code = adapt(space, res.code, move(points), nrm, adapt_steps, seconds=left)
        res = dataclasses.replace(res, code=code)
    mesh = posed_mesh(view, res, resolution)
    conf = vertex_confidence(space, mesh.vertices, np.asarray(points), res.alternatives, move)
    return ScanResult(mesh, res, conf)


def _shares(seconds: float | None, started: float, now: float, adapting: bool) -> tuple[float | None, float | None]:
    """(seconds for the code and pose, seconds from now to the end of the adaptation) within a budget of
    `seconds` since `started`, the reserve kept for the surface (at least a fifth of the budget each)."""
    if not seconds:
        return None, None
    spent = now - started
    left = max(seconds - spent - max(RESERVE_MIN, RESERVE_SHARE * seconds), 0.2 * seconds)
    return (POSE_SHARE * left if adapting else left), left


def _rotation_part(move, points: np.ndarray) -> np.ndarray:
    """The rotation of a similarity map (3, 3), read from its action on the unit axes."""
    o = np.asarray(points[:1], np.float64)
    cols = np.stack([move(o + e[None])[0] - move(o)[0] for e in np.eye(3)], axis=1)
    u, _, vt = np.linalg.svd(cols)
    return u @ vt
