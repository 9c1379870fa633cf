"""What a caller of the shape pipeline gives it: the wall-clock budget and the hooks that add to its phases."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..io.geometry import Geometry

if TYPE_CHECKING:
    from ..extract import Mesh
    from ..training.trainer import Snapshot
    from .session import ShapeSession


@dataclass
class Budget:
    """Wall-clock seconds from perf_counter time `started`; seconds None: no time budget."""

    seconds: float | None = None
    started: float = field(default_factory=time.perf_counter)

    @property
    def deadline(self) -> float:
        """The perf_counter time by which the result is due (inf without a time budget)."""
        return math.inf if self.seconds is None else self.started + self.seconds

    def left(self) -> float:
        """Seconds left (inf without a time budget; negative once overrun)."""
        return self.deadline - time.perf_counter()

    def spent(self) -> float:
        """Seconds since `started`."""
        return time.perf_counter() - self.started


class Hooks:
    """What a caller adds to the pipeline; every method does nothing by default. Subclass and override."""

    def phase(self, name: str) -> None:
        """A phase begins (see the module's list)."""

    def prepare(self, geometry: Geometry) -> Geometry:
        """The geometry to fit (e.g. a point cloud with prepared normals)."""
        return geometry

    def snapshot(self, snap: Snapshot) -> None:
        """A trainer snapshot (every `report_every` steps and the last one)."""

    def finish(self, mesh: Mesh, session: ShapeSession) -> Mesh:
        """The extracted surface, changed if need be (e.g. small pieces removed)."""
        return mesh

    def write(self, session: ShapeSession, mesh: Mesh, last: Snapshot) -> list:
        """Write what this caller adds (checkpoints, time-lapse); the problems (messages or None)."""
        return []


class ProgressHook(Hooks):
    """Calls `progress(snapshot)` for every trainer snapshot."""

    def __init__(self, progress: Callable):
        self.progress = progress

    def snapshot(self, snap) -> None:
        self.progress(snap)
