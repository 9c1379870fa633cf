"""One shape being fitted, step by step: geometry, normalisation, samples, network, trainer, previews.

The app's worker and the command line drive `ShapeSession.run()` (a generator of snapshots); nothing here
touches a GUI.
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from ..config import FitConfig
from ..errors import InrviewError
from ..extract import Mesh, extract_mesh, slice_field
from ..field import Field
from ..io.geometry import Geometry, Normalization
from ..io.loaders import load
from ..metrics import SurfaceMetrics, surface_metrics
from ..models import build_model
from ..sampling import SampleSet
from ..sampling.cache import cached_mesh_samples
from ..training import checkpoint as ckpt
from ..training.tasks import SDFTask, Task
from ..training.trainer import Trainer

#: Points sampled on each surface for the measures of a finished fit: Chamfer-L1 from 50k points per side is
#: within about 1% of the 200k-point figure the benchmarks use, at a quarter of the cost (the measures took
#: 6 s of a 10 s fit of Bob with 200k points and 500k IoU probes).
MEASURE_SAMPLES = 50_000
MEASURE_IOU_SAMPLES = 200_000


def make_task(geometry_unit: Geometry, cfg: FitConfig) -> tuple[Task, SampleSet | None]:
    """The training task for a normalised geometry: SDF/occupancy samples for meshes, the oriented
    point-cloud losses for point clouds."""
    if geometry_unit.is_mesh:
        samples = cached_mesh_samples(geometry_unit.vertices, geometry_unit.faces, cfg.sampling, seed=cfg.train.seed)
        return SDFTask(samples, cfg.target, cfg.train.batch_size, cfg.train.clamp, cfg.train.eikonal_weight), samples
    from ..training.cloud_task import make_pointcloud_task

    return make_pointcloud_task(geometry_unit, cfg), None


class ShapeSession:
    """One shape being fitted: geometry, normalisation, samples, network, trainer."""

    def __init__(self, geometry: Geometry, cfg: FitConfig = FitConfig(), normalization: Normalization | None = None,
                 device: str | None = None):
        self.geometry = geometry
        self.cfg = cfg
        self.normalization = normalization or Normalization.fit(geometry.vertices, cfg.margin)
        self.unit = geometry.transformed(self.normalization)
        t0 = time.perf_counter()
        self.task, self.samples = make_task(self.unit, cfg)
        self.sampling_seconds = time.perf_counter() - t0
        self.model = build_model(cfg.model, 3, 1, seed=cfg.train.seed)
        self.trainer = Trainer(self.model, self.task, cfg.train, device=device)
        self.field = Field(self.model, self.normalization, self.target)

    @property
    def target(self) -> str:
        """What the network learns: the configured target for meshes, always 'sdf' for point clouds."""
        return self.cfg.target if self.geometry.is_mesh else "sdf"

    @classmethod
    def from_file(cls, path: str | os.PathLike, cfg: FitConfig = FitConfig(), device: str | None = None,
                  max_points: int = 2_000_000) -> ShapeSession:
        """A session for the mesh or point cloud at path (point clouds subsampled to max_points)."""
        return cls(load(path, max_points=max_points, seed=cfg.train.seed), cfg, device=device)

    # -- training -----------------------------------------------------------------------------------
    def run(self, report_every: int = 10, preview_resolution: int | None = None, preview_interval: float = 1.0,
            slices: dict | None = None, max_steps: int | None = None):
        """The trainer's snapshot generator; with preview_resolution, snapshots now and then carry a
        preview mesh ('vertices', 'faces' in world units) and the requested slices
        ({axis: world offset} -> 'slices': {axis: SliceImage})."""
        preview = None
        if preview_resolution or slices:
            preview = lambda: self.preview(preview_resolution, slices)  # noqa: E731
        return self.trainer.run(report_every, preview, preview_interval, max_steps)

    def preview(self, resolution: int | None, slices: dict | None = None) -> dict:
        """A quick look at the field: {'vertices' (V, 3), 'faces' (F, 3)} in world units at resolution (None
        when there is no surface yet) and {'slices': {axis: SliceImage}} for the {axis: world offset} asked."""
        out: dict = {}
        if resolution:
            try:
                m = extract_mesh(self.field, resolution)
                out["vertices"], out["faces"] = m.vertices, m.faces
            except InrviewError:
                out["vertices"], out["faces"] = None, None
        if slices:
            out["slices"] = {a: slice_field(self.field, a, off, 128) for a, off in slices.items()}
        return out

    def stop(self) -> None:
        """Ask the trainer to stop after the current step."""
        self.trainer.stop()

    # -- results ------------------------------------------------------------------------------------
    def extract(self, resolution: int | None = None) -> Mesh:
        """The field's surface as a Mesh in world units, at resolution (default: cfg.resolution) cells per side."""
        return extract_mesh(self.field, resolution or self.cfg.resolution)

    def metrics(self, mesh: Mesh) -> SurfaceMetrics:
        """SurfaceMetrics of mesh against the input geometry (its faces when it is a mesh), from
        MEASURE_SAMPLES points each way and MEASURE_IOU_SAMPLES volume points."""
        g = self.geometry
        return surface_metrics(mesh.vertices, mesh.faces, g.vertices, g.faces if g.is_mesh else None, g.normals,
                               n_samples=MEASURE_SAMPLES, iou_samples=MEASURE_IOU_SAMPLES)

    def checkpoint_header(self) -> dict:
        """The JSON header a checkpoint of this session records: config (a cloud's loss with its defaults
        resolved), normalisation, target, source and trainer counters."""
        cfg = self.cfg if self.geometry.is_mesh else dataclasses.replace(self.cfg, cloud=self.task.cfg)
        return {"task": "shape", "config": cfg.to_dict(), "normalization": self.normalization.to_dict(),
                "target": self.target, "source": self.geometry.source, "in_dim": 3, "out_dim": 1,
                "trainer": {"step": self.trainer.state.step, "elapsed": self.trainer.state.elapsed}}

    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Write weights, Adam state, batch RNG and header to path (safetensors); returns the path."""
        return ckpt.save(path, self.model, self.checkpoint_header(), self.trainer.optimizer, self.trainer.generator)

    def resume_from(self, data: ckpt.CheckpointData, path="checkpoint") -> None:
        """Load weights, Adam state, RNG and counters so that training continues exactly."""
        ckpt.load_model_state(self.model, data, path)
        ckpt.load_optimizer_state(self.trainer.optimizer, data)
        if "rng/batch" in data.tensors:
            self.trainer.generator.set_state(data.tensors["rng/batch"])
        t = data.header.get("trainer", {})
        self.trainer.state.step = int(t.get("step", 0))
        self.trainer.state.elapsed = float(t.get("elapsed", 0.0))
