"""Live measures of a shape being fitted: their curve over the run and the best weights by Chamfer-L1."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..field import Field
from ..io.geometry import Geometry
from ..metrics.live import LiveMeasures


@dataclass
class Best:
    """The best weights so far by the live Chamfer-L1: the step they are from, their measures, and a CPU
    copy of the network's state dict (None when the best came from an earlier run, read from a
    checkpoint's header: its weights are in that run's files)."""

    step: int
    measures: dict
    weights: dict | None = None


#: Live measures take at most this share of the training time (plus the one at the end of the budget).
LIVE_FRACTION = 0.05


class LiveTracker:
    """Measures a field now and then (LiveMeasures, built on first use), keeps the curve and the best.

    history: [{'step', 'elapsed', 'chamfer_l1', ...}] in the order measured; best: a Best or None;
    fraction: the share of training time measures may take (`due` refuses one whose cost, judged by the last,
    would take the time they spent beyond fraction * elapsed; None: whenever asked)."""

    def __init__(self, geometry_unit: Geometry, seed: int = 0, fraction: float | None = LIVE_FRACTION):
        self.geometry_unit = geometry_unit
        self.seed = seed
        self.fraction = fraction
        self.measures: LiveMeasures | None = None
        self.history: list[dict] = []
        self.best: Best | None = None
        self._spent = 0.0  # seconds measuring so far (every measure, the forced ones included)
        self._cost = 0.0  # seconds the last measure took

    def due(self, elapsed: float) -> bool:
        """Whether a measure at `elapsed` training seconds keeps them within `fraction` of training time."""
        return self.fraction is None or self._spent + self._cost <= self.fraction * elapsed

    def measure(
        self,
        field: Field,
        model: torch.nn.Module,
        step: int,
        elapsed: float,
        vertices_unit: np.ndarray | None = None,
        faces: np.ndarray | None = None,
    ) -> dict:
        """Measure the field at this step (see LiveMeasures.measure; a second call at the same step returns the
        first's numbers), add it to the history, and keep model's weights when its Chamfer-L1 is the best."""
        if self.history and self.history[-1]["step"] == step:
            return {k: v for k, v in self.history[-1].items() if k not in ("step", "elapsed")}
        if self.measures is None:  # built once per input; not counted in the measures' share of the time
            self.measures = LiveMeasures(self.geometry_unit, seed=self.seed)
        t0 = time.perf_counter()
        m = self.measures.measure(field, vertices_unit, faces)
        self._cost = time.perf_counter() - t0
        self._spent += self._cost
        self.history.append({"step": int(step), "elapsed": float(elapsed), **m})
        cd = m.get("chamfer_l1")
        if cd is not None and (self.best is None or cd < self.best.measures.get("chamfer_l1", math.inf)):
            self.best = Best(
                int(step), dict(m), {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            )
        return m

    def to_header(self) -> dict:
        """{'history': [...], 'best': {'step', 'measures'} or None} for a checkpoint's JSON header."""
        best = None if self.best is None else {"step": self.best.step, "measures": self.best.measures}
        return {"history": copy.deepcopy(self.history), "best": best}

    def restore(self, live) -> None:
        """Continue the curve and the best measures recorded in a checkpoint header's 'live' entry
        (anything malformed there is ignored: the measures start afresh)."""
        if not isinstance(live, dict):
            return
        hist = live.get("history")
        if isinstance(hist, list) and all(isinstance(h, dict) and isinstance(h.get("step"), int) for h in hist):
            self.history = [dict(h) for h in hist]
        best = live.get("best")
        if isinstance(best, dict) and isinstance(best.get("step"), int) and isinstance(best.get("measures"), dict):
            cd = best["measures"].get("chamfer_l1")
            if isinstance(cd, (int, float)) and math.isfinite(cd):
                self.best = Best(best["step"], dict(best["measures"]))
