"""What a training step optimises: a task draws a batch and returns named loss terms.

A task holds its data on the training device. `loss(model, generator)` returns a dict of tensors with a
'total' entry; the trainer owns the optimiser, the schedule and the clock.
"""

from __future__ import annotations

import numpy as np
import torch

from ..config import FitConfig
from ..sampling import SampleSet
from . import losses as L


class Task:
    """What a training step optimises. `to(device)` moves the task's data and returns the task;
    `loss(model, generator)` draws a batch of `batch_size` and returns named scalar loss tensors with a
    'total' entry."""

    batch_size: int = 16384

    def to(self, device: torch.device) -> Task:
        raise NotImplementedError

    def loss(self, model, generator: torch.Generator) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    #: Whether loss() can be captured in a CUDA graph when called with generator=None (fixed shapes, no
    #: host synchronisation, no control flow that changes between steps).
    graph_safe: bool = False

    @staticmethod
    def _draw(n: int, k: int, generator: torch.Generator | None, device) -> torch.Tensor:
        """k indices below n: from `generator` on the CPU, or with generator None from the device's own
        default generator (no host-to-device copy: what a captured CUDA graph needs)."""
        if generator is None:
            return torch.randint(0, n, (min(k, n),), device=device)
        return torch.randint(0, n, (min(k, n),), generator=generator).to(device)


#: Unsigned targets: the network may take either sign within this distance of the surface (normalised
#: units: one cell of the default extraction, 256^3) and must be positive beyond it. Free to change sign
#: across a sheet, it stays smooth where the unsigned distance has its kink; free to change sign anywhere,
#: it also did so in walls and pockets a few cells off the surface, whose zero sets were extracted as flakes
#: and cut slits into the sheet beside them (bun_zipper at 60 s: 186 faces more than 1% of the longest side
#: off the surface, 1283 pieces before the small ones were dropped, 31.6k boundary edges, Chamfer-L1
#: 1.04e-3; with the band: none, 290 pieces, 12.0k edges, 9.2e-4).
UDF_SIGN_BAND = 2.0 / FitConfig().resolution


class SDFTask(Task):
    """Regress signed distance (clamped L1), classify occupancy (BCE) or regress unsigned distance (clamped
    L1 of |network| within UDF_SIGN_BAND of the surface, of the network itself beyond it) on a pool of
    samples (for 'udf' the pool's `sdf` holds unsigned distances)."""

    graph_safe = True

    def __init__(
        self,
        samples: SampleSet,
        target: str = "sdf",
        batch_size: int = 16384,
        clamp: float = 0.1,
        eikonal_weight: float = 0.0,
    ):
        if target not in ("sdf", "occupancy", "udf"):
            raise ValueError(f"unknown target {target!r} (choose sdf, occupancy or udf)")
        self.samples, self.target, self.batch_size = samples, target, batch_size
        self.clamp, self.eikonal_weight = clamp, eikonal_weight
        self.points = torch.from_numpy(np.ascontiguousarray(samples.points, dtype=np.float32))
        self.values = torch.from_numpy(samples.occupancy if target == "occupancy" else samples.sdf)

    def to(self, device):
        self.points, self.values = self.points.to(device), self.values.to(device)
        return self

    def loss(self, model, generator):
        idx = self._draw(len(self.points), self.batch_size, generator, self.points.device)
        x, y = self.points[idx], self.values[idx]
        if self.eikonal_weight > 0:
            x = x.requires_grad_(True)
        pred = model(x).squeeze(-1)
        out = {}
        if self.target == "sdf":
            out["sdf_l1"] = L.clamped_l1(pred, y, self.clamp)
        elif self.target == "udf":
            out["udf_l1"] = L.clamped_l1(torch.where(y > UDF_SIGN_BAND, pred, pred.abs()), y, self.clamp)
        else:
            out["bce"] = L.occupancy_bce(pred, y)
        total = sum(out.values())
        if self.eikonal_weight > 0 and self.target == "sdf":
            out["eikonal"] = L.eikonal(L.gradient(pred, x))
            total = total + self.eikonal_weight * out["eikonal"]
        out["total"] = total
        return out
