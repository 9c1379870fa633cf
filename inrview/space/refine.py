"""Using the evidence at a single fit's accuracy: the completed surface is fitted again, as a single shape,
from the scan's own points where the scan saw the shape and from points of the space's surface where it did
not.

The space's decoder is coarse (its grid has 16 cells a side): even adapted to the points it stays several
times less accurate on observed parts than a single fit of the same points. So after the code, the pose and
the adaptation, the surface the space inferred is sampled at the scan's density, its samples farther than
UNSEEN_SPACINGS point spacings from every given point are added to the scan (with the surface's normals),
and `reconstruct`'s pipeline fits the union. Observed parts come from the scan alone, hidden parts from the
prior; on a full scan nothing is added and the result is a single fit of the scan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..errors import InrviewError
from ..extract import Mesh
from ..io.surface import sample_cloud
from ..recon.normals import prepare_normals
from ..recon.pipeline import as_cloud, config_for, reconstruct

#: A place on the prior's surface was seen when a given point's nearest place on that surface lies within
#: this many typical point spacings of the scan, or when it lies in the free space in front of the scan: on
#: the outer side of a given point, within that many spacings of its normal line and within NORMAL_REACH of
#: the scan's bounding-box diagonal along it (one of its NEIGHBOURS nearest given points).
UNSEEN_SPACINGS, NORMAL_REACH, NEIGHBOURS = 4.0, 0.15, 16
#: A prior off the points puts their feet off where they belong by about as much: claims reach this many
#: times the 90th percentile of the points' distances from the prior farther.
MISFIT_SPREAD = 2.0
#: At most this many points of the prior are added; training steps of the fit (or its time, first to end).
MAX_PRIOR_POINTS, STEPS = 100_000, 300
#: The fit's network: the multi-resolution grid (on full femur scans of 10k points, 300 steps: Chamfer-L1
#: 5.5e-4 in 12 s against the sine network's 7.3e-4 in 16 s).
MODEL = "grid"


@dataclass(frozen=True)
class Refinement:
    """mesh: the refined surface (scan's frame); prior_points: points of the prior added; spacing: the
    scan's typical point spacing (its units); seconds: wall time of the refinement; hidden: up to 2000 of the
    prior's points that were added (where the scan saw nothing), to check that the refit kept to them."""

    mesh: Mesh
    prior_points: int
    spacing: float
    seconds: float
    hidden: np.ndarray | None = None


def spacing(points: np.ndarray, sample: int = 20_000, seed: int = 0) -> float:
    """Median distance from a point to its nearest neighbour (on up to `sample` of the points)."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(points), min(sample, len(points)), replace=False)
    d, _ = cKDTree(points).query(points[idx], k=2)
    return float(np.median(d[:, 1]))


def evidence(
    prior: Mesh, points: np.ndarray, normals: np.ndarray | None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, int, float]:
    """(points, normals, prior points added, spacing): the scan's points with oriented normals (estimated
    when absent, turned to agree with the prior's surface) and samples of the prior's surface, at the scan's
    density, where the scan did not see it (seen_from)."""
    pts = np.asarray(points, np.float64)
    s = spacing(pts, seed=seed)
    v, f = np.asarray(prior.vertices, np.float64), np.asarray(prior.faces, np.int64)
    area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1).sum()
    # a uniform random sample with density rho has median neighbour distance about 0.5 / sqrt(rho)
    n = int(min(max(0.25 * area / max(s, 1e-12) ** 2, 1000), 4 * MAX_PRIOR_POINTS))
    pv, pn = sample_cloud(v, f, n, seed=seed + 1)
    if normals is None:
        normals, _ = prepare_normals(pts, None, "estimate")
    nrm = np.asarray(normals, np.float64)
    _, near = cKDTree(pv).query(pts)
    nrm = np.where((np.einsum("ij,ij->i", nrm, pn[near]) < 0)[:, None], -nrm, nrm)
    keep = np.flatnonzero(~seen_from(pv, pts, nrm, s))[:MAX_PRIOR_POINTS]
    return np.vstack([pts, pv[keep]]), np.vstack([nrm, pn[keep]]), len(keep), s


def seen_from(q: np.ndarray, points: np.ndarray, normals: np.ndarray, s: float) -> np.ndarray:
    """(M,) bool: whether each sample q (M, 3) of the prior's surface (at about the scan's density) was seen
    by the scan (points, outward normals, typical spacing s).

    Claimed: every given point claims the sample nearest to it (its foot on the prior), and samples within
    UNSEEN_SPACINGS * s of a claimed one (more where the prior lies off the points) were seen; feet follow
    the prior wherever it lies, so a prior off the points is seen there. In front: a sample on the outer
    side of a given point, near its normal line, lies where the scan saw empty space (a prior bulging past
    a full scan). The parts beyond the scan's edge and the far side of a thin part (behind the near side,
    farther than it) are neither."""
    off, foot = cKDTree(q).query(points)
    d, _ = cKDTree(q[np.unique(foot)]).query(q)
    seen = d <= UNSEEN_SPACINGS * s + MISFIT_SPREAD * np.percentile(off, 90)
    reach = NORMAL_REACH * float(np.linalg.norm(np.ptp(points, axis=0)))
    _, idx = cKDTree(points).query(q, k=min(NEIGHBOURS, len(points)))
    idx = idx.reshape(len(q), -1)
    for lo in range(0, len(q), 20_000):  # bounded memory: (chunk, k, 3) at a time
        sl = slice(lo, lo + 20_000)
        delta = q[sl, None, :] - points[idx[sl]]
        along = np.einsum("mkj,mkj->mk", delta, normals[idx[sl]])
        across = np.linalg.norm(delta - along[..., None] * normals[idx[sl]], axis=2)
        seen[sl] |= ((along > 0) & (along < reach) & (across < UNSEEN_SPACINGS * s)).any(axis=1)
    return seen


def refine(
    prior: Mesh,
    points: np.ndarray,
    normals: np.ndarray | None = None,
    steps: int = STEPS,
    seconds: float | None = None,
    resolution: int = 128,
    seed: int = 0,
) -> Refinement | None:
    """The surface fitted again from the scan's points (world units, normals optional) and the prior's
    surface (a Mesh in the same frame) where the scan did not see it; None when the fit yields no surface.
    seconds: a wall-clock budget for the whole refinement, counted from this call."""
    t0 = time.perf_counter()
    pts, nrm, added, s = evidence(prior, points, normals, seed)
    cfg = config_for(pts, model=MODEL, seconds=seconds, steps=steps, resolution=resolution, seed=seed)
    try:
        rec = reconstruct(as_cloud(pts, nrm), cfg, normals="file", started=t0)
    except InrviewError:
        return None
    hidden = pts[len(points) :][np.random.default_rng(seed).permutation(added)[:2000]]
    return Refinement(rec.mesh, added, s, time.perf_counter() - t0, hidden)
