"""Completing a shape from points: a new code optimised against the points with the decoder frozen
(DeepSDF Sec. 6, "shape completion"), so what the points do not show comes from the collection.

Data terms on the points p (normalised): SDF spaces pull f(z, p) to 0 (L1, robust to noise) and, with
normals n, f(z, p +- eps n) to +-eps; occupancy spaces pull the logit at p to 0 (BCE against 1/2) and, with
normals, p + eps n outside and p - eps n inside. A Gaussian prior on the code, fitted to the training codes
(per-dimension mean and variance), keeps partial and sparse inputs on the space. Several starts (the
training codes that fit the points best) are optimised together; the one with the lowest residual wins.

Each step runs inside the training loops' safety net (training/safety.py): out of memory halves the points
per step, a non-finite loss restores the last good codes and lowers the learning rate.

The result says how far the input is from what the space knows: the code's distance from the training
codes' mean against theirs, and the residual on the points against the training shapes' own residuals.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..io.geometry import Normalization
from ..training.safety import Fault, SafetyNet
from ..training.schedule import cosine_factor
from .model import Space

#: Offset along the normals for the signed terms, normalised units.
NORMAL_EPS = 0.02
#: Weight of the code prior per target (data terms: L1 distance for SDF, BCE for occupancy).
PRIOR_WEIGHT = {"sdf": 2e-4, "occupancy": 2e-3}
#: Points per optimisation step (a random subset when there are more).
BATCH = 2048
#: The input counts as far from the space when its residual exceeds this many times the training p95 or
#: its code lies this many times farther from the mean than the farthest training code.
FAR_RESIDUAL, FAR_CODE = 4.0, 1.5


@dataclass(frozen=True)
class Completion:
    """The result: code (D,), normalization used, residual (median |value| at the points: normalised
    distance for SDF, logit for occupancy), novelty measures, far (bool) and a message saying so."""

    code: np.ndarray
    normalization: Normalization
    residual: float
    novelty: dict = field(default_factory=dict)
    far: bool = False
    message: str = ""
    alternatives: np.ndarray | None = None  # (K, D) the other starts' codes, for their disagreement


@dataclass(frozen=True)
class CompletionSnapshot:
    """Progress of a completion: step, total steps, loss, elapsed seconds; result on the last one; code (D,):
    the best start's code so far and normalization (the points' placement), to draw the surface as it forms."""

    step: int
    total_steps: int
    loss: float
    elapsed: float
    done: bool = False
    result: Completion | None = None
    code: np.ndarray | None = None
    normalization: Normalization | None = None
    message: str | None = None


@dataclass(frozen=True)
class Budget:
    """How a completion runs: at most `steps` code steps and `seconds` of wall time (None: no limit; with
    both, whichever ends first ends the run), Adam from `lr` with a cosine decay to a tenth, batches drawn
    with `seed`, a snapshot every `report_every` steps."""

    steps: int = 300
    seconds: float | None = None
    lr: float = 1e-2
    seed: int = 0
    report_every: int = 25

    def progress(self, step: int, elapsed: float) -> float:
        """Share of the run done: of the steps or of the seconds, whichever is further along."""
        return max(step / self.steps if self.steps else 0.0, elapsed / self.seconds if self.seconds else 0.0)

    @staticmethod
    def decay(progress: float) -> float:
        """The learning-rate factor at that share of the run (a cosine from 1 to a tenth)."""
        return cosine_factor(progress, 0.1)


def placement(space: Space, points: np.ndarray) -> Normalization:
    """Joint spaces use their one transform; per-shape spaces place the points by their bounding box."""
    if space.normalise == "joint":
        return space.normalizations[0]
    return Normalization.fit(points, 0.1)


def _values(space: Space, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """z (S, D), x (P, 3) shared or (S, P, 3) per code -> (S, P) decoder outputs."""
    return space.decoder(z, x if x.ndim == 3 else x[None].expand(z.shape[0], -1, -1))


def data_loss(space: Space, z: torch.Tensor, p: torch.Tensor, n: torch.Tensor | None) -> torch.Tensor:
    """(S,) data term of each code at points p (P, 3), or (S, P, 3) per code, with optional normals n."""
    v = _values(space, z, p)
    if space.target == "sdf":
        loss = v.abs().mean(dim=1)
        if n is not None:
            out, inn = _values(space, z, p + NORMAL_EPS * n), _values(space, z, p - NORMAL_EPS * n)
            loss = loss + 0.5 * ((out - NORMAL_EPS).abs().mean(dim=1) + (inn + NORMAL_EPS).abs().mean(dim=1))
        return loss
    loss = F.binary_cross_entropy_with_logits(v, torch.full_like(v, 0.5), reduction="none").mean(dim=1)
    if n is not None:
        out, inn = _values(space, z, p + NORMAL_EPS * n), _values(space, z, p - NORMAL_EPS * n)
        loss = loss + 0.5 * (
            F.binary_cross_entropy_with_logits(out, torch.zeros_like(out), reduction="none").mean(dim=1)
            + F.binary_cross_entropy_with_logits(inn, torch.ones_like(inn), reduction="none").mean(dim=1)
        )
    return loss


@torch.no_grad()
def starts(space: Space, p: torch.Tensor, k: int = 3) -> torch.Tensor:
    """(k, D) the training codes whose surfaces pass closest to the points (median |value|)."""
    sub = p[torch.randperm(len(p), generator=torch.Generator().manual_seed(0))[:1000]]
    res = torch.cat(
        [
            _values(space, space.codes[s : s + 16], sub).abs().median(dim=1).values
            for s in range(0, len(space.codes), 16)
        ]
    )
    return space.codes[res.argsort()[: min(k, len(res))]].clone()


def complete_steps(space: Space, points: np.ndarray, normals: np.ndarray | None = None, n_starts: int = 3, **budget):
    """Optimise a code for points (N, 3) in world units (normals (N, 3) optional, outward), yielding
    CompletionSnapshot every report_every steps and a last one (done=True) carrying the Completion.
    budget: Budget's fields (steps, seconds, lr, seed, report_every)."""
    b = Budget(**budget)
    norm, p, n, mean, var = _prepared(space, points, normals)
    z = starts(space, p, n_starts).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=b.lr)
    g = torch.Generator().manual_seed(b.seed)
    t0, step, total, batch, loss = time.perf_counter(), 0, b.steps, BATCH, None
    safety = SafetyNet([z], opt, every=25, retries=3)
    safety.remember(0)

    def one_step():
        nonlocal loss
        prior = ((z - mean) ** 2 / var).mean(dim=1)
        loss = data_loss(space, z, p[idx], None if n is None else n[idx]) + PRIOR_WEIGHT[space.target] * prior
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
        return {"total": loss.detach().sum()}

    while True:
        frac = b.progress(step, time.perf_counter() - t0)
        if frac >= 1.0:
            break
        for group in opt.param_groups:
            group["lr"] = b.lr * safety.lr_scale * b.decay(frac)
        idx = torch.randperm(len(p), generator=g)[:batch]
        _, fault = safety.step(one_step)
        if fault is not None:
            step, batch, message, go_on = _after_fault(safety, fault, step, batch)
            yield CompletionSnapshot(step, total, float("nan"), time.perf_counter() - t0, message=message)
            if not go_on:
                break
            continue
        step += 1
        safety.keep(step)
        if step % b.report_every == 0:
            lo = loss.detach()
            yield CompletionSnapshot(
                step,
                total,
                float(lo.min()),
                time.perf_counter() - t0,
                code=z.detach()[int(lo.argmin())].numpy().copy(),
                normalization=norm,
            )
    result = dataclasses.replace(_finish(space, z.detach(), p, norm), alternatives=z.detach().numpy().copy())
    yield CompletionSnapshot(step, step, result.residual, time.perf_counter() - t0, True, result, result.code, norm)


def _prepared(space: Space, points: np.ndarray, normals: np.ndarray | None):
    """(placement, points (P, 3) and unit normals or None in normalised units, the code prior's mean and
    variance) for a completion."""
    norm = placement(space, points)
    p = torch.as_tensor(norm.to_unit(points), dtype=torch.float32)
    n = None if normals is None else F.normalize(torch.as_tensor(np.asarray(normals), dtype=torch.float32), dim=1)
    stats = space.header["code_stats"]
    return norm, p, n, torch.tensor(stats["mean"]), torch.tensor(stats["std"]) ** 2 + 1e-6


def _after_fault(safety: SafetyNet, fault: Fault, step: int, batch: int) -> tuple[int, int, str, bool]:
    """Out of memory: half the points per step (down to 64); a non-finite loss: the last good codes back at a
    lower rate. Returns (step, batch, message, whether to go on)."""
    if fault.kind == "oom":
        half = safety.halve(batch, floor=64)
        if half is None:
            return step, batch, f"completion stopped at step {step}: out of memory ({fault.what})", False
        return step, half, f"out of memory ({fault.what}): {half} points per step", True
    message, go_on = safety.recover(step + 1, fault)
    return safety.good_step, batch, message, go_on


@torch.no_grad()
def _finish(space: Space, z: torch.Tensor, p: torch.Tensor, norm: Normalization) -> Completion:
    """Pick the start with the lowest residual and judge how far it is from the space."""
    res = torch.cat([_values(space, z[i : i + 1], p).abs().median(dim=1).values for i in range(len(z))])
    best = int(res.argmin())
    code, residual = z[best].numpy(), float(res[best])
    stats = space.header["code_stats"]
    dist = float(np.linalg.norm(code - np.asarray(stats["mean"])))
    novelty = {
        "residual": residual,
        "residual_train_p95": stats["residual_p95"],
        "code_distance": dist,
        "code_distance_train_max": stats["distance_max"],
    }
    far_res = residual > FAR_RESIDUAL * stats["residual_p95"]
    far_code = dist > FAR_CODE * stats["distance_max"]
    msg = ""
    if far_res or far_code:
        why = (
            f"residual {residual:.3g} vs {stats['residual_p95']:.3g} on training shapes (p95)"
            if far_res
            else f"code {dist:.3g} from the mean vs at most {stats['distance_max']:.3g} for training shapes"
        )
        msg = f"the points are far from anything this space knows ({why}): the result is a guess"
    return Completion(code, norm, residual, novelty, far_res or far_code, msg)


def complete(space: Space, points: np.ndarray, normals: np.ndarray | None = None, **kw) -> Completion:
    """complete_steps run to the end; returns the Completion (see complete_steps for the arguments)."""
    last = None
    for snap in complete_steps(space, points, normals, **kw):
        last = snap
    return last.result
