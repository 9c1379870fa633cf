"""The headless pipeline in one call: load, prepare samples, train, extract, measure, save.

>>> import inrview
>>> result = inrview.fit("spot.obj", inrview.FitConfig(train=inrview.TrainConfig(seconds=30)))
>>> result.mesh.vertices.shape, result.metrics.chamfer_l1
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from ..config import FitConfig
from ..extract import Mesh
from ..field import Field
from ..io.export import save_mesh
from ..io.geometry import Geometry
from ..io.loaders import load
from ..metrics import SurfaceMetrics
from ..training.trainer import Snapshot
from .session import ShapeSession


@dataclass
class FitResult:
    """What fit() returns: the session (field, model, trainer), the extracted mesh in world units, its
    metrics against the input (None unless measured), wall-clock seconds, the last snapshot and the seconds
    of each phase ('load', 'sampling', 'training', 'extraction', 'writing', 'measures')."""

    session: ShapeSession
    mesh: Mesh
    metrics: SurfaceMetrics | None
    seconds: float
    last: Snapshot
    phases: dict = field(default_factory=dict)

    @property
    def field(self) -> Field:
        """The trained Field of the session."""
        return self.session.field


#: Seconds kept back from a wall-clock budget for extracting and writing the surface (a 256^3 coarse-to-fine
#: extraction of the default network takes about 1 s on a 2-core CPU).
EXTRACTION_RESERVE = 1.0


def training_seconds(
    budget: float, started: float, now: float | None = None, reserve: float = EXTRACTION_RESERVE
) -> float:
    """Training seconds left in a wall-clock `budget` that began at perf_counter() time `started`, once the
    time already spent (loading, sampling) and the extraction reserve are taken off; at least half of
    the budget, so that a slow start still leaves some training."""
    spent = (time.perf_counter() if now is None else now) - started
    return max(0.5 * budget, budget - spent - reserve)


def fit(
    source: str | os.PathLike | Geometry,
    cfg: FitConfig = FitConfig(),
    output: str | os.PathLike | None = None,
    measure: bool = True,
    progress=None,
    device: str | None = None,
    started: float | None = None,
) -> FitResult:
    """Load, train, extract (and optionally save and measure) in one call.

    progress: called with each Snapshot (e.g. to drive a progress bar). With a time budget
    (cfg.train.seconds), the budget is wall-clock time from `started` (a perf_counter() time; default: this
    call) to the extracted surface: loading and sampling count against it, and the trainer gets what is left
    (see training_seconds)."""
    t0 = time.perf_counter() if started is None else started
    phases: dict[str, float] = {}
    t = time.perf_counter()
    if isinstance(source, (ShapeSession, Geometry)):
        geometry = source if isinstance(source, Geometry) else None
    else:
        geometry = load(source, max_points=2_000_000, seed=cfg.train.seed)
        phases["load"] = time.perf_counter() - t
    t = time.perf_counter()
    session = source if isinstance(source, ShapeSession) else ShapeSession(geometry, cfg, device=device)
    if not isinstance(source, ShapeSession):
        phases["sampling"] = time.perf_counter() - t
    if cfg.train.seconds is not None:
        session.trainer.set_seconds(training_seconds(cfg.train.seconds, t0))
    t = time.perf_counter()
    last = None
    for last in session.run(report_every=10):
        if progress is not None:
            progress(last)
    phases["training"] = time.perf_counter() - t
    t = time.perf_counter()
    mesh = session.extract()
    phases["extraction"] = time.perf_counter() - t
    if output is not None:
        t = time.perf_counter()
        save_mesh(output, mesh.vertices, mesh.faces)
        phases["writing"] = time.perf_counter() - t
    seconds = time.perf_counter() - t0
    metrics = None
    if measure:
        t = time.perf_counter()
        metrics = session.metrics(mesh)
        phases["measures"] = time.perf_counter() - t
    return FitResult(session, mesh, metrics, seconds, last, phases)
