"""Using the evidence after the code: a copy of the decoder is fine-tuned on the scan's points, pulled back
towards the trained network so that only what the points show changes.

The code alone cannot express what the collection never showed (a frozen decoder's best code is 15-20x
worse than a single fit on a full scan). Here the code and a copy of the decoder are trained further on the
points (the completion's data terms), with two pulls back to the prior: the weights towards the trained
ones (L2), and the adapted surface towards the prior's away from the points (the values at random points
of the cube, weighted by their distance from the nearest given point, matched to the frozen decoder's).
Observed parts move to the points; hidden parts keep the shape the space inferred.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time

import numpy as np
import torch
from scipy.spatial import cKDTree

from ..io.geometry import Normalization
from .complete import BATCH, data_loss
from .model import Space

#: Steps, learning rate of the decoder copy, L2 pull of the weights, weight of the prior's values far from
#: the points, and the distance (normalised units) beyond which a place counts as unseen.
STEPS, LR, WEIGHT_PULL, FAR_PULL, SEEN = 150, 1e-3, 1e-2, 1.0, 0.05


def adapt(
    space: Space,
    code: np.ndarray,
    points: np.ndarray,
    normals: np.ndarray | None = None,
    steps: int = STEPS,
    lr: float = LR,
    seed: int = 0,
    seconds: float | None = None,
) -> tuple[Space, np.ndarray]:
    """(space with the adapted decoder, adapted code) for points (N, 3) already in the space's normalised
    frame (a posed completion's moved points). The given space is left unchanged. seconds: a wall-clock
    budget; the run ends at the steps or the seconds, whichever comes first (the schedule follows both)."""
    g = torch.Generator().manual_seed(seed)
    p = torch.as_tensor(np.asarray(points), dtype=torch.float32)
    n = None if normals is None else torch.nn.functional.normalize(torch.as_tensor(np.asarray(normals)).float(), dim=1)
    frozen = space.decoder
    dec = copy.deepcopy(frozen)
    view = dataclasses.replace(space, decoder=dec)  # (its __post_init__ freezes dec: unfreeze after)
    for w in dec.parameters():
        w.requires_grad_(True)
    anchors = [w.detach().clone() for w in dec.parameters()]
    z = torch.as_tensor(np.asarray(code), dtype=torch.float32)[None].clone().requires_grad_(True)
    z0 = z.detach().clone()
    prior_mesh = space.decode(z0[0], 48, Normalization())
    probe, weight = _probes(p.numpy(), np.asarray(prior_mesh.vertices), 4096, seed)
    with torch.no_grad():
        prior = frozen(z0, probe[None])[0]  # the prior's values there: fixed, computed once
    opt = torch.optim.Adam([{"params": list(dec.parameters()), "lr": lr}, {"params": [z], "lr": lr}])
    dec.train()
    clock, step = time.perf_counter(), 0
    while (frac := max(step / steps, (time.perf_counter() - clock) / seconds if seconds else 0.0)) < 1.0:
        step += 1
        for group in opt.param_groups:
            group["lr"] = lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        idx = torch.randperm(len(p), generator=g)[:BATCH]
        loss = data_loss(view, z, p[idx], None if n is None else n[idx])[0]
        far = (weight * (dec(z, probe[None])[0] - prior).abs()).mean()
        pull = sum(((w - a) ** 2).sum() for w, a in zip(dec.parameters(), anchors))
        total = loss + FAR_PULL * far + WEIGHT_PULL * pull
        opt.zero_grad()
        total.backward()
        opt.step()
    adapted = dataclasses.replace(space, decoder=dec)  # __post_init__ freezes it again
    return adapted, z.detach()[0].numpy()


def _probes(points: np.ndarray, surface: np.ndarray, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Places to hold the prior: near its surface (3/4) and anywhere in the cube (1/4), weighted from 0 at
    the given points to 1 beyond SEEN."""
    rng = np.random.default_rng(seed)
    near = surface[rng.integers(0, len(surface), 3 * n // 4)] + rng.normal(0, 0.02, (3 * n // 4, 3))
    x = np.vstack([near, rng.uniform(-1, 1, size=(n - len(near), 3))])
    d, _ = cKDTree(points).query(x)
    w = np.clip(d / SEEN, 0, 1) ** 2
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(w, dtype=torch.float32)
