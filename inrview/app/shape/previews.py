"""The shape worker's looks at the field: live previews during training (throttled by their own cost and
bounded in time: a rough field early in training gets a coarser surface rather than a long stall), the
end-of-run surface, slices after a slider move. Runs on the worker thread (see worker.py)."""

from __future__ import annotations

import time

from ...shape.pipeline import heavy
from ..common import frames
from ..common.memory import release_free_memory


class Previews:
    """Preview state and computations of a SessionWorker (`worker`: its field, session, signals, inspector).

    resolution: the live surface's cells per side (0: none); seconds: the most a live surface may take
    (extraction coarsens to keep it, see extract_mesh's deadline); final_seconds: the same for the
    end-of-run surface; max_final_resolution / max_display_faces: how fine the end-of-run surface may be;
    min_interval, cost_ratio: a preview waits max(min_interval, cost_ratio * its last cost) after the last."""

    def __init__(self, worker):
        self.worker = worker
        self.resolution = 64
        self.seconds = 0.5
        self.final_seconds = 10.0
        self.max_final_resolution = 192
        self.max_display_faces = 1_000_000  # the window lowers this for a software (CPU) renderer
        self.min_interval = 0.25
        self.cost_ratio = 1.0  # wait as long as the last preview took: previews use at most half the time
        self.costs: list[float] = []
        self.last_faces: tuple[int, int] | None = None  # (resolution, faces) of the last live surface
        self.last_mesh: tuple | None = None  # (vertices, faces) of the latest extracted surface (world units)
        self._next = 0.0
        self._last_trim = 0.0

    def restart(self) -> None:
        """A run begins: the next snapshot may carry a preview at once."""
        self._next = 0.0
        self.costs = []

    def during_training(self):
        """The trainer's preview function (called at each report, on the worker thread); throttled by its
        own cost."""
        now = time.perf_counter()
        if now < self._next:
            return None
        out = self.compute(self.resolution, self.seconds)
        if now - self._last_trim > 10.0:
            self._last_trim = now
            release_free_memory()
        cost = time.perf_counter() - now
        self.costs.append(cost)
        self._next = time.perf_counter() + max(self.min_interval, cost * self.cost_ratio)
        return out

    def compute(self, resolution: int | None, seconds: float | None) -> dict:
        """{'surface': SurfaceFrame or None, 'slices', 'slice_limit', and the inspector's views}."""
        w = self.worker
        slices = dict(w.slices)
        pv = heavy().preview_field(w.field, resolution, slices, seconds)
        out: dict = {}
        if resolution:
            if pv["faces"] is None:
                out["surface"] = None
            else:
                out["surface"] = frames.surface_frame(pv["vertices"], pv["faces"])
                self.last_faces = (pv["resolution"], len(pv["faces"]))
                self.last_mesh = (pv["vertices"], pv["faces"])
        shown = {a: frames.slice_frame(img, self.last_mesh) for a, img in pv.get("slices", {}).items()}
        out["slice_limit"] = self._slice_limit(shown)
        out["slices"] = frames.with_colors(shown, out["slice_limit"])
        w.inspect.add_to(out, self.last_mesh, new_surface=out.get("surface") is not None)
        return out

    def _slice_limit(self, slices: dict) -> float | None:
        w = self.worker
        if w.field is None or not slices:
            return None
        if w.field.is_distance:
            clamp = w.session.cfg.train.clamp if w.session is not None else 0.1
            return clamp / w.field.normalization.scale  # beyond the clamp distance the network is not taught
        return frames.slice_limit(slices)

    def final_resolution(self) -> int:
        """The end-of-run surface: as fine as the display can draw quickly. Faces grow with the square of the
        resolution, so the last live surface's count tells how far the resolution can go."""
        if self.last_faces is None:
            return min(96 if self.max_display_faces < 200_000 else 128, self.max_final_resolution)
        res, faces = self.last_faces
        scale = (self.max_display_faces / max(faces, 1)) ** 0.5
        return int(max(min(res, 64), min(self.max_final_resolution, res * scale)))

    def latest_mesh(self):
        """(vertices, faces) of the network's latest extracted surface, world units (one is extracted now when
        none has been yet); None without a network or a surface."""
        w = self.worker
        if self.last_mesh is None and w.field is not None:
            pv = heavy().preview_field(w.field, self.resolution or 64, None, self.seconds)
            if pv["faces"] is None:
                return None
            self.last_mesh = (pv["vertices"], pv["faces"])
        return self.last_mesh
