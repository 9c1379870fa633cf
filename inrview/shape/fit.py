"""The headless pipeline in one call: load, prepare samples, train, extract, measure, save.

>>> import inrview
>>> result = inrview.fit("spot.obj", inrview.FitConfig(train=inrview.TrainConfig(seconds=30)))
>>> result.mesh.vertices.shape, result.metrics.chamfer_l1
"""

from __future__ import annotations

import os
import time

from ..config import FitConfig
from ..io.geometry import Geometry
from .hooks import Budget, ProgressHook
from .pipeline import FitResult, ShapePipeline


def fit(
    source: str | os.PathLike | Geometry,
    cfg: FitConfig = FitConfig(),
    output: str | os.PathLike | None = None,
    measure: bool = True,
    progress=None,
    device: str | None = None,
    started: float | None = None,
    hooks=(),
) -> FitResult:
    """Load, train, extract (and optionally save and measure) in one call: ShapePipeline(...).run(source).

    source: a mesh or point cloud file, a Geometry, or a ShapeSession to continue. progress: called with each
    Snapshot (e.g. to drive a progress bar); hooks: more pipeline Hooks. With a time budget
    (cfg.train.seconds), the budget is wall-clock time from `started` (a perf_counter() time; default: this
    call) to the measured surface: loading and sampling count against it, training gets what is left once
    extraction, writing and measures are provided for, and extraction's resolution follows the time left."""
    budget = Budget(cfg.train.seconds, time.perf_counter() if started is None else started)
    extra = [ProgressHook(progress)] if progress is not None else []
    pipeline = ShapePipeline(cfg, [*extra, *hooks], budget, device=device, measure=measure)
    return pipeline.run(source, output)
