"""A scan completed end to end, as `inrview space complete` does it: the code (and the scan's pose), the
network adapted to the points, the surface refitted from the scan where it saw the shape (space.refine), in
the scan's frame, and its per-vertex confidence."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from ..extract import Mesh
from ..io.geometry import is_watertight
from ..metrics import point_to_surface
from ..recon.cleanup import drop_small_components
from ..recon.pipeline import point_spacing
from .adapt import adapt
from .complete import Completion, complete_steps
from .confidence import vertex_confidence
from .model import Space
from .pose import complete_posed_steps, posed_mesh, to_space
from .refine import STEPS as REFINE_STEPS
from .refine import refine

#: Default adaptation steps after the code (0: the code alone).
ADAPT_STEPS = 100
#: The surface is refitted from the scan only when the scan is dense enough for a single fit: its points'
#: median neighbour distance at most this, in units where the scan's longest side is 2 (full and half
#: femur scans of 10k points: 0.012; 300 points: 0.07, where a single fit was 3x worse than the prior).
DENSE_SPACING = 0.03
#: With a wall-clock budget: seconds kept for the surface, its confidence and writing it (at least
#: RESERVE_MIN, else this share of the budget; less when the refinement extracts the surface itself), and
#: where the code and pose, and then the adaptation, end within the rest (shares of it, counted together).
RESERVE_SHARE, REFINED_RESERVE_SHARE, RESERVE_MIN = 0.3, 0.1, 3.0
POSE_SHARE, REFINED_SHARES = 0.7, (0.5, 0.65)


@dataclass(frozen=True)
class ScanResult:
    """mesh (scan's frame), the Completion (code, pose in novelty['pose'], judgement) and the per-vertex
    confidence measures (vertex_confidence)."""

    mesh: Mesh
    result: Completion
    confidence: dict
    refinement: dict = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class ScanProgress:
    """A completion under way: stage ('code' while the code and pose are found and at its end, 'adapted' at
    the end of the adaptation when a refit follows, 'done'), step and total of the code stage, loss, elapsed
    seconds; mesh: the surface so far (scan's frame) at the end of a stage when previews were asked for;
    message: what happened (a fault handled, a stage's outcome); result: the ScanResult on the last one."""

    stage: str
    step: int
    total: int
    loss: float
    elapsed: float
    mesh: Mesh | None = None
    message: str | None = None
    done: bool = False
    result: ScanResult | None = None


def complete_scan(space: Space, points: np.ndarray, normals: np.ndarray | None = None, **options) -> ScanResult:
    """Complete points (N, 3) in world units: complete_scan_steps run to the end (options: its keyword
    arguments); returns the ScanResult."""
    *_, last = complete_scan_steps(space, points, normals, **options)
    return last.result


def complete_scan_steps(
    space: Space,
    points: np.ndarray,
    normals: np.ndarray | None = None,
    pose: str = "rigid",
    adapt_steps: int = ADAPT_STEPS,
    steps: int = 300,
    seconds: float | None = None,
    resolution: int = 128,
    started: float | None = None,
    refine_steps: int = REFINE_STEPS,
    report_every: int = 25,
    preview: int | None = None,
):
    """Complete points (N, 3) in world units, yielding ScanProgress every report_every code steps and at the
    end of each stage (the last one carries the ScanResult), for a worker thread that shows it.

    pose: 'none' (the scan is in the space's frame), 'rigid' or 'similarity' (found with the code);
    adapt_steps: fine-tuning of the network on the points afterwards; refine_steps: the surface refitted
    from the scan where it saw the shape (0: never; only dense scans). seconds: a wall-clock budget for the
    whole, counted from perf_counter() time `started` (default now): each stage ends early (at its steps or
    its share, whichever comes first) so that the surface is out in time. preview: the marching-cubes
    resolution of the surface shown at the end of the code and adaptation stages (None: no previews)."""
    t0 = time.perf_counter()
    points = np.asarray(points)
    spacing = point_spacing(points)
    refining = refine_steps > 0 and spacing <= DENSE_SPACING
    ends = _shares(seconds, t0 if started is None else started, t0, adapt_steps > 0, refining)
    budget = {"steps": steps, "seconds": ends[0], "report_every": report_every}
    if pose == "none":
        code_stage = complete_steps(space, points, normals, **budget)
    else:
        code_stage = complete_posed_steps(space, points, normals, pose == "similarity", **budget)
    for snap in code_stage:
        if snap.done:
            res = snap.result
            break
        yield ScanProgress("code", snap.step, snap.total_steps, snap.loss, time.perf_counter() - t0, None, snap.message)

    def since() -> float:
        return time.perf_counter() - t0

    if preview:
        yield ScanProgress("code", snap.step, snap.step, snap.loss, since(), posed_mesh(space, res, preview))
    move, view = to_space(res), space
    if adapt_steps > 0:
        rot = _rotation_part(move, points)
        nrm = None if normals is None else normals @ rot.T
        view, code = adapt(space, res.code, move(points), nrm, adapt_steps, seconds=_until(ends[1], t0))
        res = dataclasses.replace(res, code=code)
        if preview and refining:
            yield ScanProgress("adapted", snap.step, snap.step, snap.loss, since(), posed_mesh(view, res, preview))
    mesh = posed_mesh(view, res, resolution)
    info = {"applied": False, "spacing": spacing, "dense_spacing": DENSE_SPACING}
    info["reason"] = _why_not(refine_steps, spacing)
    if refining:
        mesh, info = _refined(mesh, points, normals, refine_steps, _until(ends[2], t0), resolution, info)
    conf = vertex_confidence(space, mesh.vertices, points, res.alternatives, move)
    result = ScanResult(mesh, res, conf, info)
    yield ScanProgress("done", snap.step, snap.step, res.residual, since(), mesh, info["reason"] or None, True, result)


def _refined(prior: Mesh, points, normals, steps: int, seconds, resolution: int, info: dict) -> tuple[Mesh, dict]:
    """The refitted surface (largest piece) and what happened; the prior's surface when the refit gives no
    closed surface or lies farther from the points than the prior does (a refit cut short by the budget)."""
    done = refine(prior, points, normals, steps, seconds, resolution)
    if done is None:
        return prior, {**info, "reason": "the refit found no surface: the space's surface is kept"}
    v, f, _ = drop_small_components(done.mesh.vertices, done.mesh.faces, 1.0)
    if not is_watertight(f):
        return prior, {**info, "reason": "the refit's surface is not closed: the space's surface is kept"}
    sample = points[np.random.default_rng(0).choice(len(points), min(len(points), 2000), replace=False)]
    near, before = (float(point_to_surface(sample, *m).mean()) for m in ((v, f), (prior.vertices, prior.faces)))
    info = {**info, "prior_points": done.prior_points, "seconds": done.seconds, "points_to_refit": near}
    info["points_to_prior"] = before
    if done.hidden is not None and len(done.hidden):
        info["hidden_to_refit"] = float(point_to_surface(done.hidden, v, f).mean())
    if near >= before:
        why = f"the refit lies farther from the points than the space's surface ({near:.3g} against {before:.3g})"
        return prior, {**info, "reason": why}
    return Mesh(v, f), {**info, "applied": True, "reason": ""}


def refit_summary(info: dict) -> str:
    """What the refit of the surface from the scan did (ScanResult.refinement), in a few words."""
    if info.get("applied"):
        return f"refitted from the scan ({info['prior_points']} points of the space's surface where it saw nothing)"
    return f"not refitted: {info['reason']}"


def _why_not(steps: int, spacing: float) -> str:
    """Why a scan is not refitted ('' when it is)."""
    if steps <= 0:
        return "refit turned off"
    if spacing > DENSE_SPACING:
        return f"points {spacing:.3g} apart (over {DENSE_SPACING:g}): too sparse for a single fit"
    return ""


def _until(end: float | None, t0: float) -> float | None:
    """Seconds from now to `end` seconds after t0 (at least half a second), None without a budget."""
    return None if end is None else max(end - (time.perf_counter() - t0), 0.5)


def _shares(
    seconds: float | None, started: float, now: float, adapting: bool, refining: bool = False
) -> tuple[float | None, float | None, float | None]:
    """Where the code and pose, the adaptation and the refinement end, in seconds from now, within a budget
    of `seconds` since `started` less the reserve kept for the surface (at least a fifth of the budget)."""
    if not seconds:
        return None, None, None
    spent = now - started
    reserve = max(RESERVE_MIN, (REFINED_RESERVE_SHARE if refining else RESERVE_SHARE) * seconds)
    left = max(seconds - spent - reserve, 0.2 * seconds)
    if refining:
        pose, adapt_end = (share * left for share in REFINED_SHARES)
        return (pose if adapting else REFINED_SHARES[1] * left), (adapt_end if adapting else None), left
    return (POSE_SHARE * left if adapting else left), left, None


def _rotation_part(move, points: np.ndarray) -> np.ndarray:
    """The rotation of a similarity map (3, 3), read from its action on the unit axes."""
    o = np.asarray(points[:1], np.float64)
    cols = np.stack([move(o + e[None])[0] - move(o)[0] for e in np.eye(3)], axis=1)
    u, _, vt = np.linalg.svd(cols)
    return u @ vt
