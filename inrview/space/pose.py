"""Completion of a scan in any frame: the scan's rigid (or similarity) transform into the space's frame is
optimised jointly with the code, from several starts.

A start is a code (the training codes that fit best), a rotation about the scan's centroid (none, and turns
of START_ANGLE about seven axes, both ways) and a translation (none, or the scan's centroid onto the training
shapes' centre). All starts run SCREEN_STEPS steps together; the KEEP best go on for the rest of the budget,
and the lowest residual wins. All starts are one batch through the decoder (codes and moved points stacked
on a leading axis), and with a time budget the screening and the schedule both follow the clock. Points p
(normalised) are moved as s R p + t before the decoder sees them; the surface goes back to the scan's frame
through the inverse, so the mesh lands on the scan.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from ..extract import Mesh
from ..io.geometry import Normalization
from .complete import (
    PRIOR_WEIGHT,
    Budget,
    Completion,
    CompletionSnapshot,
    _finish,
    _prepared,
    data_loss,
    starts,
)
from .model import Space

#: Rotation of the turned starts, degrees; steps run by every start before the best KEEP go on (or this
#: share of a time budget, whichever comes first), and the points each start sees per screening step.
START_ANGLE, SCREEN_STEPS, KEEP, SCREEN_SHARE, SCREEN_BATCH = 30.0, 40, 3, 0.5, 64
#: Points per step for the kept starts. Within a 30 s budget, more steps beat more points a step: with 64 and
#: 512 (before 128 and 1024) a deformed-template space completed moved half femur scans 0.93x the unmoved
#: instead of 5.4x (a step costs twice a grid space's, and the poses had not converged), and unmoved half
#: and full scans a little closer.
POSE_BATCH = 512
#: Learning rates of the pose (radians, normalised units, log scale) relative to the code's.
POSE_LR = 0.5
#: Every this many steps the pose is also solved in closed form (ICP on the decoder's surface): each point
#: is projected onto the zero level (q - f grad f / |grad f|^2) and the best rigid map onto them replaces it.
ICP_EVERY = 3


def rotation(w: torch.Tensor) -> torch.Tensor:
    """(S, 3, 3) rotation matrices of axis-angle vectors w (S, 3) (Rodrigues), differentiable at 0."""
    theta = torch.sqrt((w**2).sum(dim=1, keepdim=True) + 1e-12)
    k = w / theta
    K = torch.zeros(len(w), 3, 3, dtype=w.dtype)
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 0] = -k[:, 2], k[:, 1], k[:, 2]
    K[:, 1, 2], K[:, 2, 0], K[:, 2, 1] = -k[:, 0], -k[:, 1], k[:, 0]
    th = theta[:, :, None]
    return torch.eye(3, dtype=w.dtype) + torch.sin(th) * K + (1 - torch.cos(th)) * (K @ K)


def _start_poses(p: torch.Tensor, space: Space) -> tuple[torch.Tensor, torch.Tensor]:
    """Axis-angle (R, 3) and translation (R, 3) starts: the rotations of _start_turns about the scan's
    centroid x (the centroid kept where it is, or moved onto the training shapes' centre)."""
    rots = _start_turns()
    c = p.mean(dim=0)
    centre = torch.as_tensor(space.header.get("code_stats", {}).get("centroid", [0.0, 0.0, 0.0]), dtype=torch.float32)
    R = rotation(torch.stack(rots))
    w = torch.stack([r for r in rots for _ in range(2)])
    t = torch.stack([dest - R[i] @ c for i in range(len(rots)) for dest in (c, centre)])
    return w, t


def _start_turns() -> list[torch.Tensor]:
    """Axis-angle vectors: none, and START_ANGLE both ways about each coordinate axis and each diagonal of the
    cube: any rotation of up to START_ANGLE lies within 0.6 START_ANGLE of one of these 15 (within 0.9 of
    the 7 about the coordinate axes alone)."""
    axes = [torch.eye(3)[i] for i in range(3)]
    axes += [torch.tensor([1.0, sy, sz]) / math.sqrt(3.0) for sy in (1.0, -1.0) for sz in (1.0, -1.0)]
    a = math.radians(START_ANGLE)
    return [torch.zeros(3)] + [s * a * ax for ax in axes for s in (1.0, -1.0)]


def _moved(p: torch.Tensor, n: torch.Tensor | None, w, t, log_s):
    """Points (S, P, 3) and normals moved by each start's pose."""
    R = rotation(w)
    q = torch.exp(log_s)[:, None, None] * torch.einsum("sij,pj->spi", R, p) + t[:, None, :]
    return q, None if n is None else torch.einsum("sij,pj->spi", R, n)


def complete_posed_steps(
    space: Space, points: np.ndarray, normals: np.ndarray | None = None, scale: bool = False, **budget
):
    """complete_steps with the scan's pose found too (scale=True: a similarity); budget: Budget's fields
    (steps, seconds, lr, seed, report_every). The last snapshot's result is a Completion whose
    novelty['pose'] holds the transform found (world units: rotation (3, 3), angle in degrees, translation,
    scale) taking the scan onto the space's frame."""
    b = Budget(**budget)
    norm, p, n, mean, var = _prepared(space, points, normals)
    w0, t0 = _start_poses(p, space)
    codes = starts(space, p, 2)
    z = codes.repeat(len(w0), 1)
    w, t = w0.repeat_interleave(len(codes), 0), t0.repeat_interleave(len(codes), 0)
    log_s = torch.zeros(len(z))
    params = [z, w, t] + ([log_s] if scale else [])
    for x in params:
        x.requires_grad_(True)
    g = torch.Generator().manual_seed(b.seed)
    clock, step = time.perf_counter(), 0
    opt = _optimiser(z, w, t, log_s, scale, b.lr)
    while True:
        frac = b.progress(step, time.perf_counter() - clock)
        if frac >= 1.0:
            break
        screening = len(z) > KEEP
        for group in opt.param_groups:
            group["lr"] = group["base"] * b.decay(frac)
        idx = torch.randperm(len(p), generator=g)[: SCREEN_BATCH if screening else POSE_BATCH]
        q, m = _moved(p[idx], None if n is None else n[idx], w, t, log_s)
        prior = ((z - mean) ** 2 / var).mean(dim=1)
        loss = data_loss(space, z, q, m) + PRIOR_WEIGHT[space.target] * prior
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
        step += 1
        if step % ICP_EVERY == 0 and space.target == "sdf":
            _icp_update(space, z.detach(), p[idx], w, t, log_s, scale)
        if screening and (step >= SCREEN_STEPS or frac >= SCREEN_SHARE):  # keep the best starts only
            best = loss.detach().argsort()[:KEEP]
            z, w, t, log_s = (x.detach()[best].clone().requires_grad_(True) for x in (z, w, t, log_s))
            opt = _optimiser(z, w, t, log_s, scale, b.lr)
        if step % b.report_every == 0:
            yield CompletionSnapshot(step, b.steps, float(loss.detach().min()), time.perf_counter() - clock)
    result = _finish_posed(space, z.detach(), w.detach(), t.detach(), log_s.detach(), p, norm)
    yield CompletionSnapshot(step, step, result.residual, time.perf_counter() - clock, True, result, result.code, norm)


def _icp_update(space: Space, z, p: torch.Tensor, w, t, log_s, scale: bool) -> None:
    """Replace each start's pose by the closed-form (Umeyama) map of the points onto their projections on
    the decoder's zero level, points near the surface weighted most."""
    from scipy.spatial.transform import Rotation

    from .ssm import _procrustes

    with torch.no_grad():
        q, _ = _moved(p, None, w, t, log_s)
    q = q.clone().requires_grad_(True)
    with torch.enable_grad():
        f = space.decoder(z, q)
        (grad,) = torch.autograd.grad(f.sum(), q)
    target = (q - f[..., None] * grad / (grad**2).sum(-1, keepdim=True).clamp_min(1e-6)).detach().numpy()
    src, keep = p.numpy().astype(np.float64), (f.detach().abs() < 0.1).numpy()
    with torch.no_grad():
        for i in range(len(z)):
            if keep[i].sum() < 10:
                continue
            s_i, R, tt = _procrustes(src[keep[i]], target[i][keep[i]].astype(np.float64), scale)
            w[i] = torch.as_tensor(Rotation.from_matrix(R).as_rotvec(), dtype=w.dtype)
            t[i] = torch.as_tensor(tt, dtype=t.dtype)
            if scale:
                log_s[i] = float(np.log(s_i))


def _optimiser(z, w, t, log_s, scale: bool, lr: float) -> torch.optim.Adam:
    groups = [{"params": [z], "base": lr}, {"params": [w, t], "base": lr * POSE_LR}]
    if scale:
        groups.append({"params": [log_s], "base": lr * POSE_LR})
    for gr in groups:
        gr["lr"] = gr["base"]
    return torch.optim.Adam(groups)


@torch.no_grad()
def _finish_posed(space: Space, z, w, t, log_s, p: torch.Tensor, norm: Normalization) -> Completion:
    """The start with the lowest residual at its moved points, judged like any completion, with its pose."""
    q, _ = _moved(p, None, w, t, log_s)
    res = torch.stack([space.decoder(z[i : i + 1], q[i : i + 1]).abs().median() for i in range(len(z))])
    best = int(res.argmin())
    moved = norm.to_world(q[best].numpy().astype(np.float64))
    base = _finish(space, z[best : best + 1], torch.as_tensor(norm.to_unit(moved), dtype=torch.float32), norm)
    R, s = rotation(w[best : best + 1])[0].numpy().astype(np.float64), float(torch.exp(log_s[best]))
    k, c = norm.scale, np.asarray(norm.center)
    pose = {
        "rotation": R.tolist(),
        "angle_degrees": float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1)))),
        "translation": (c - s * R @ c + t[best].numpy() / k).tolist(),
        "scale": s,
        "unit": {"axis_angle": w[best].tolist(), "t": t[best].tolist(), "scale": s},
    }
    novelty = {**base.novelty, "pose": pose}
    return Completion(base.code, norm, base.residual, novelty, base.far, base.message, z.numpy().copy())


def to_space(result: Completion):
    """The map of world points (N, 3) into the space's normalised frame that the completion found."""
    unit = result.novelty.get("pose", {}).get("unit")
    if unit is None:
        return result.normalization.to_unit
    R = rotation(torch.tensor([unit["axis_angle"]], dtype=torch.float64))[0].numpy()
    return lambda x: unit["scale"] * result.normalization.to_unit(x) @ R.T + np.asarray(unit["t"])


def posed_mesh(space: Space, result: Completion, resolution: int = 128) -> Mesh:
    """The completed surface in the scan's frame: decoded in the space's frame, then moved back through
    the inverse of the pose found (identity when the result has none)."""
    mesh = space.decode(result.code, resolution, Normalization())
    unit = result.novelty.get("pose", {}).get("unit")
    v = np.asarray(mesh.vertices, np.float64)
    if unit is not None:
        R = rotation(torch.tensor([unit["axis_angle"]], dtype=torch.float64))[0].numpy()
        v = (v - np.asarray(unit["t"])) @ R / unit["scale"]
    return Mesh(result.normalization.to_world(v), mesh.faces)
