"""The headless pipeline in one call: load, prepare samples, train, extract, measure, save.

    >>> import inrview
    >>> result = inrview.fit("spot.obj", inrview.FitConfig(train=inrview.TrainConfig(seconds=30)))
    >>> result.mesh.vertices.shape, result.metrics.chamfer_l1
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from ..config import FitConfig
from ..extract import Mesh
from ..field import Field
from ..io.export import save_mesh
from ..io.geometry import Geometry
from ..metrics import SurfaceMetrics
from ..training.trainer import Snapshot
from .session import ShapeSession


@dataclass
class FitResult:
    """What fit() returns: the session (field, model, trainer), the extracted mesh in world units, its
    metrics against the input (None unless measured), wall-clock seconds and the last snapshot."""

    session: ShapeSession
    mesh: Mesh
    metrics: SurfaceMetrics | None
    seconds: float
    last: Snapshot

    @property
    def field(self) -> Field:
        """The trained Field of the session."""
        return self.session.field


def fit(source: str | os.PathLike | Geometry, cfg: FitConfig = FitConfig(), output: str | os.PathLike | None = None,
        measure: bool = True, progress=None, device: str | None = None) -> FitResult:
    """Load, train, extract (and optionally save and measure) in one call.

    progress: called with each Snapshot (e.g. to drive a progress bar)."""
    t0 = time.perf_counter()
    session = source if isinstance(source, ShapeSession) else (
        ShapeSession(source, cfg, device=device) if isinstance(source, Geometry)
        else ShapeSession.from_file(source, cfg, device))
    last = None
    for last in session.run(report_every=10):
        if progress is not None:
            progress(last)
    mesh = session.extract()
    if output is not None:
        save_mesh(output, mesh.vertices, mesh.faces)
    seconds = time.perf_counter() - t0
    metrics = session.metrics(mesh) if measure else None
    return FitResult(session, mesh, metrics, seconds, last)
