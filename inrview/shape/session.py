"""One shape being fitted, step by step: geometry, normalisation, samples, network, trainer, previews.

The app's worker and the command line drive `ShapeSession.run()` (a generator of snapshots); nothing here
touches a GUI.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import numpy as np
import torch

from ..config import FitConfig
from ..errors import InrviewError
from ..extract import Mesh, dense_grid, extract_mesh, slice_field
from ..extract.udf import CELL_TOLERANCE
from ..field import Field
from ..io.geometry import Geometry, Normalization
from ..io.loaders import load
from ..metrics import SurfaceMetrics, surface_metrics
from ..metrics.open import OpenSurfaceMetrics, open_surface_metrics
from ..models import build_model
from ..sampling import SampleSet
from ..sampling.cache import cached_mesh_samples
from ..sampling.unsigned import resolve_target, udf_samples
from ..training import checkpoint as ckpt
from ..training.cloud_task import make_pointcloud_task
from ..training.device import pick_device  # noqa: F401  (the command line reaches it through pipeline.heavy)
from ..training.tasks import SDFTask, Task
from ..training.trainer import Trainer
from .live import Best, LiveTracker

#: Points sampled on each surface for the measures of a finished fit: Chamfer-L1 from 50k points per side is
#: within about 1% of the 200k-point figure the benchmarks use, at a quarter of the cost (the measures took
#: 6 s of a 10 s fit of Bob with 200k points and 500k IoU probes).
MEASURE_SAMPLES = 50_000
MEASURE_IOU_SAMPLES = 200_000


def make_task(
    geometry_unit: Geometry, cfg: FitConfig, samples: SampleSet | None = None
) -> tuple[Task, SampleSet | None]:
    """The training task for a normalised geometry: SDF/occupancy samples for meshes (`samples` when they
    were drawn already, else drawn now), the oriented point-cloud losses for point clouds, unsigned
    distances for either with target 'udf'."""
    if cfg.target == "udf":
        return unsigned_task(geometry_unit, cfg, samples)
    if geometry_unit.is_mesh:
        if samples is None:
            samples = cached_mesh_samples(
                geometry_unit.vertices, geometry_unit.faces, cfg.sampling, seed=cfg.train.seed
            )
        return SDFTask(samples, cfg.target, cfg.train.batch_size, cfg.train.clamp, cfg.train.eikonal_weight), samples
    return make_pointcloud_task(geometry_unit, cfg), None


def unsigned_task(geometry_unit: Geometry, cfg: FitConfig, samples: SampleSet | None = None) -> tuple[Task, SampleSet]:
    """Unsigned-distance regression on exact distances to a mesh, or on nearest-point distances of a cloud
    (`samples` when they were drawn already: see udf_samples)."""
    samples = samples if samples is not None else udf_samples(geometry_unit, cfg)
    return SDFTask(samples, "udf", cfg.train.batch_size, cfg.train.clamp), samples


def preview_field(
    field: Field, resolution: int | None, slices: dict | None = None, seconds: float | None = None
) -> dict:
    """A quick look at a field: {'vertices', 'faces', 'resolution'} of its surface at `resolution` in world
    units (vertices and faces None when there is none yet), within `seconds` from now when given (coarser when
    the measured evaluation rate requires it: see extract_mesh's deadline), and {'slices': {axis: SliceImage}}
    at 128^2 for the {axis: world offset} asked."""
    out: dict = {}
    if resolution:
        deadline = None if seconds is None else time.perf_counter() + seconds
        try:
            m = extract_mesh(field, resolution, deadline=deadline)
            out["vertices"], out["faces"], out["resolution"] = m.vertices, m.faces, m.resolution
        except InrviewError:
            out["vertices"], out["faces"] = None, None
    if slices:
        out["slices"] = {a: slice_field(field, a, off, 128) for a, off in slices.items()}
    return out


class ShapeSession:
    """One shape being fitted: geometry, normalisation, samples, network, trainer. A target of 'auto' is
    resolved first (`target_notice` says what it became and why).

    samples: a mesh's training samples when the caller drew them already (cached_mesh_samples of the same
    normalised geometry, configuration and seed); None draws them here."""

    def __init__(
        self,
        geometry: Geometry,
        cfg: FitConfig = FitConfig(),
        normalization: Normalization | None = None,
        device: str | None = None,
        samples: SampleSet | None = None,
    ):
        self.geometry = geometry
        cfg, self.target_notice = resolve_target(geometry, cfg)
        self.cfg = cfg
        self.normalization = normalization or Normalization.fit(geometry.vertices, cfg.margin)
        self.unit = geometry.transformed(self.normalization)
        t0 = time.perf_counter()
        self.task, self.samples = make_task(self.unit, cfg, samples)
        self.sampling_seconds = time.perf_counter() - t0
        self.model = build_model(cfg.model, 3, 1, seed=cfg.train.seed)
        self.trainer = Trainer(self.model, self.task, cfg.train, device=device)
        self.field = Field(self.model, self.normalization, self.target)
        #: live measures (run(measures=True)): their curve and the best weights by Chamfer-L1
        self.live = LiveTracker(self.unit, cfg.train.seed)

    @property
    def target(self) -> str:
        """What the network learns: the configured target for meshes; for point clouds 'udf' when asked, else
        'sdf'."""
        return self.cfg.target if self.geometry.is_mesh or self.cfg.target == "udf" else "sdf"

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike,
        cfg: FitConfig = FitConfig(),
        device: str | None = None,
        max_points: int = 2_000_000,
    ) -> ShapeSession:
        """A session for the mesh or point cloud at path (point clouds subsampled to max_points)."""
        return cls(load(path, max_points=max_points, seed=cfg.train.seed), cfg, device=device)

    # -- training -----------------------------------------------------------------------------------
    def run(
        self,
        report_every: int = 10,
        preview_resolution: int | None = None,
        preview_interval: float = 1.0,
        slices: dict | None = None,
        max_steps: int | None = None,
        measures: bool = False,
        preview=None,
    ):
        """The trainer's snapshot generator; with preview_resolution, snapshots now and then carry a
        preview mesh ('vertices', 'faces' in world units) and the requested slices
        ({axis: world offset} -> 'slices': {axis: SliceImage}); with measures, they carry the live measures
        too ('measures': see measure_live; taken when due, at most `live.fraction` of the training time, and at the
        end of the budget), and `best` follows the best of them. preview: the caller's own preview function
        instead (called with no argument at most every preview_interval seconds; its result rides on the
        snapshot)."""
        if preview is None and (preview_resolution or slices or measures):
            preview = lambda: self.preview(preview_resolution, slices, measures)  # noqa: E731
        return self.trainer.run(report_every, preview, preview_interval, max_steps)

    def preview(
        self, resolution: int | None, slices: dict | None = None, measures: bool = False, seconds: float | None = None
    ) -> dict:
        """A quick look at the field: {'vertices' (V, 3), 'faces' (F, 3)} in world units at resolution (None
        when there is no surface yet; 'resolution': the one reached, lower when `seconds` would not allow it,
        see extract), {'slices': {axis: SliceImage}} for the {axis: world offset} asked, and with measures
        {'measures': dict} (measure_live, on that mesh when there is one; only when they are due, see
        LiveTracker.due)."""
        out = preview_field(self.field, resolution, slices, seconds)
        if measures and (self.live.due(self.trainer.state.elapsed) or self.finished):
            v = out.get("vertices")
            out["measures"] = self.measure_live(
                v if v is not None or not resolution else np.zeros((0, 3)), out.get("faces")
            )
        return out

    def measure_live(self, vertices: np.ndarray | None = None, faces: np.ndarray | None = None) -> dict:
        """Chamfer-L1, normal consistency and IoU of the field now, on a subsample (LiveMeasures.measure):
        on the surface (V, 3) world vertices / (F, 3) faces when given, else on one extracted at a coarse
        resolution. Recorded in `live.history`; the weights are kept as `best` when their Chamfer-L1 is the
        lowest so far."""
        vu = None if vertices is None else self.normalization.to_unit(vertices)
        st = self.trainer.state
        return self.live.measure(self.field, self.model, st.step, st.elapsed, vu, faces)

    @property
    def best(self) -> Best | None:
        """The best weights by the live Chamfer-L1 (step, measures, weights), or None before any measure."""
        return self.live.best

    def extend_budget(self, steps: int | None = None, seconds: float | None = None) -> None:
        """Give training `steps` more optimisation steps, or `seconds` more training seconds, from where it
        stands (the step count and elapsed time go on).

        The learning rate follows one cosine over the whole budget (lr * factor(progress), progress = done /
        total): extending the total to done + more puts the schedule where one run with that total budget
        would be at this point, so the rest of a resumed run anneals exactly as that run's rest does. The
        rate rises from its annealed low to that level at the resume (a warm restart, as in SGDR), which
        costs little: two runs of 100 steps end within noise of one run of 200 (tests/test_resume.py). A
        fresh cosine over only the new budget would restart at the full rate and undo much of what was
        learned; a constant low rate would barely move."""
        st, tc = self.trainer.state, self.trainer.cfg
        if seconds is not None:
            train = dataclasses.replace(tc, seconds=st.elapsed + seconds)
        else:
            train = dataclasses.replace(tc, steps=st.step + (steps or tc.steps), seconds=None)
        self.trainer.cfg = train
        self.cfg = dataclasses.replace(self.cfg, train=train)

    def set_threads(self, threads: int | None) -> None:
        """Use `threads` CPU threads for torch's operations when training on a CPU (None: as it is)."""
        if threads and self.trainer.device.type == "cpu":
            torch.set_num_threads(int(threads))

    @property
    def finished(self) -> bool:
        """Whether the training budget is spent (continuing then needs extend_budget)."""
        return self.trainer.progress() >= 1.0

    def stop(self) -> None:
        """Ask the trainer to stop after the current step."""
        self.trainer.stop()

    # -- results ------------------------------------------------------------------------------------
    def extract(self, resolution: int | None = None, seconds: float | None = None) -> Mesh:
        """The field's surface as a Mesh in world units, at resolution (default: cfg.resolution) cells per side;
        with `seconds`, within that time from now: coarser when the measured evaluation rate requires it
        (Mesh.resolution says how fine; see extract_mesh's deadline)."""
        deadline = None if seconds is None else time.perf_counter() + seconds
        return extract_mesh(self.field, resolution or self.cfg.resolution, deadline=deadline)

    def metrics(self, mesh: Mesh, seconds: float | None = None) -> SurfaceMetrics | OpenSurfaceMetrics:
        """SurfaceMetrics of mesh against the input geometry (its faces when it is a mesh), from
        MEASURE_SAMPLES points each way and MEASURE_IOU_SAMPLES volume points; for an unsigned target the
        measures of open surfaces (OpenSurfaceMetrics: no IoU, area ratio and boundary edges instead).

        seconds: the time they may take. They are then first taken with a tenth of the samples, and again with
        all of them only when ten times that cost fits in the time left (a rough surface costs more to
        measure); else the first figures are returned."""
        if seconds is None:
            return self._metrics(mesh, MEASURE_SAMPLES, MEASURE_IOU_SAMPLES)
        t = time.perf_counter()
        quick = self._metrics(mesh, MEASURE_SAMPLES // 10, MEASURE_IOU_SAMPLES // 10)
        cost = time.perf_counter() - t
        if 10 * cost > seconds - cost:
            return quick
        return self._metrics(mesh, MEASURE_SAMPLES, MEASURE_IOU_SAMPLES)

    def _metrics(self, mesh: Mesh, samples: int, iou_samples: int) -> SurfaceMetrics | OpenSurfaceMetrics:
        g = self.geometry
        if self.target == "udf":
            return open_surface_metrics(
                mesh.vertices, mesh.faces, g.vertices, g.faces if g.is_mesh else None, n_samples=samples
            )
        return surface_metrics(
            mesh.vertices,
            mesh.faces,
            g.vertices,
            g.faces if g.is_mesh else None,
            g.normals,
            n_samples=samples,
            iou_samples=iou_samples,
        )

    def has_surface(self, resolution: int = 32) -> bool:
        """Whether the field crosses zero on a dense grid of `resolution` cells per side (the first level of
        a coarse-to-fine extraction: 33^3 evaluations at the default); for an unsigned distance, which never
        crosses zero, whether some corner is within CELL_TOLERANCE cells (every cell that UDF extraction takes,
        an edge whose end values sum to less than that, has one) and not every one is."""
        grid = dense_grid(self.field, resolution)
        v = grid.values
        if self.target == "udf":
            return bool(np.nanmin(v) < CELL_TOLERANCE * grid.spacing < np.nanmax(v))
        return bool(np.nanmin(v) < 0.0 < np.nanmax(v))

    def checkpoint_header(self) -> dict:
        """The JSON header a checkpoint of this session records: config (a cloud's loss with its defaults
        resolved), normalisation, target, source and trainer counters."""
        own = self.geometry.is_mesh or self.target == "udf"
        cfg = self.cfg if own else dataclasses.replace(self.cfg, cloud=self.task.cfg)
        return {
            "task": "shape",
            "config": cfg.to_dict(),
            "normalization": self.normalization.to_dict(),
            "target": self.target,
            "source": self.geometry.source,
            "in_dim": 3,
            "out_dim": 1,
            "trainer": {"step": self.trainer.state.step, "elapsed": self.trainer.state.elapsed},
            "live": self.live.to_header(),
        }

    def save_checkpoint(self, path: str | os.PathLike, best: bool = False) -> Path:
        """Write weights, Adam state, batch RNG and header to path (safetensors); returns the path.

        best: write the best weights by the live Chamfer-L1 instead (`best`; header 'best': true, its step
        in the trainer counters; no optimizer or RNG state, so continuing from it restarts Adam's moments).
        Raises InrviewError when this session has no best weights (never measured)."""
        if not best:
            return ckpt.save(path, self.model, self.checkpoint_header(), self.trainer.optimizer, self.trainer.generator)
        b = self.best
        if b is None or b.weights is None:
            raise InrviewError("no best weights to save: this run has not measured its surface (measures=True)")
        head = self.checkpoint_header()
        elapsed = next((h["elapsed"] for h in self.live.history if h["step"] == b.step), 0.0)
        head.update(best=True, trainer={"step": b.step, "elapsed": elapsed})
        return ckpt.save(path, b.weights, head)

    def resume_from(self, data: ckpt.CheckpointData, path="checkpoint") -> None:
        """Load weights, Adam state, RNG and counters so that training continues exactly."""
        ckpt.load_model_state(self.model, data, path)
        ckpt.load_optimizer_state(self.trainer.optimizer, data)
        if "rng/batch" in data.tensors:
            self.trainer.generator.set_state(data.tensors["rng/batch"])
        t = data.header.get("trainer", {})
        self.trainer.state.step = int(t.get("step", 0))
        self.trainer.state.elapsed = float(t.get("elapsed", 0.0))
        self.live.restore(data.header.get("live"))
