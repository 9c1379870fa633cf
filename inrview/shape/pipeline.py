"""The shape pipeline: the one sequence that `inrview fit` (meshes and point clouds), `inrview reconstruct`,
the Python API (`inrview.fit`, `recon.reconstruct`) and the app's shape worker drive.

Phases, each timed into `ShapePipeline.phases` (seconds) and announced to the hooks as it begins:

    load -> prepare -> sampling -> training -> extraction -> writing -> measures

- load: the file read (skipped for a Geometry or a ShapeSession given directly);
- prepare: what the hooks do to the geometry first (a point cloud's normals; recorded when they change it);
- sampling: the training samples of a mesh, drawn *before* torch is imported and handed to the session as an
  argument, while another thread imports the training modules (`heavy()`: the one seam where torch loads);
  then the network and the trainer;
- training: the trainer's snapshots, each passed to the hooks (progress bar, time-lapse frames);
- extraction: marching cubes of the field (then the hooks' clean-up of the surface);
- writing: the mesh to `output`, then whatever the hooks write (checkpoints, time-lapse);
- measures: the surface measured against the input (or the caller's own measure; under a time budget with
  fewer samples when the time left requires, see ShapeSession.metrics).

Budget: with a time budget, `Budget(seconds, started)` is wall time from `started` (the command's start for
the command line) to the measured result, whatever the field's state. Training ends when the time left is
what extraction, writing and measures are expected to need (the trainer's own budget is moved to that
point at every snapshot, so the time spent between steps counts too), and extraction gets the time then
left, lowering its resolution as the evaluation rate it measures requires (extract_mesh's deadline).
Without a time budget the step budget holds and nothing is bounded: the results are the same as ever.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..config import FitConfig
from ..errors import NoSurfaceError
from ..io.export import save_mesh
from ..io.geometry import Geometry, Normalization
from ..io.loaders import load
from ..sampling.cache import cached_mesh_samples
from ..sampling.unsigned import resolve_target, udf_samples
from .hooks import Budget, Hooks

if TYPE_CHECKING:  # the training side of the pipeline loads at the seam below
    from ..extract import Mesh
    from ..training.trainer import Snapshot
    from .session import ShapeSession

#: The module holding ShapeSession: it imports torch and the training stack.
HEAVY = "inrview.shape.session"
#: Time kept for extracting a surface at the end of a time budget: this many times what evaluating the
#: network on the dense 33^3 first level of an extraction takes when training begins (measured then, on this
#: machine under its load), at most this share of the budget; a rougher field gets a coarser grid in that time.
#: On the bundled Spot (2-core CPU) the probe takes 16 ms and a trained field's 256^3 coarse-to-fine extraction
#: about 1.0 s, but the extraction's own deadline check, which projects each next level from the rate of the
#: levels before, only affords 256^3 from about 2.5 s on (at 30 times, 0.5 s, a 60 s fit of Spot ended at 32^3).
EXTRACTION_FACTOR, EXTRACTION_SHARE = 200.0, 0.2
#: Seconds kept for writing the mesh, and for measuring it (Bob: 0.4 s on a 2-core CPU).
WRITE_RESERVE, MEASURE_RESERVE = 0.1, 0.6
#: A time budget always trains at least this share of itself, however long loading took.
MIN_TRAINING_SHARE = 0.1
#: A field with no surface when its time budget is spent trains on (batches of SURFACE_BATCH_SHARE on a CPU), looking
#: for one every SURFACE_SLICE seconds, for at most SURFACE_GRACE seconds past the budget (or past its least
#: training, when loading overran the budget); then extraction says there is none.
SURFACE_GRACE, SURFACE_SLICE, SURFACE_BATCH_SHARE = 2.0, 0.1, 0.125
#: A time budget draws at most this many training samples per second of itself, and at least MIN_BUDGET_SAMPLES:
#: drawing the default 500k exact distances of a 100k-face mesh takes 2 s of CPU (open3d releases the GIL, but the
#: two cores are what torch imports on meanwhile: under load the import took 4.9 s instead of 2.1), while a
#: budget under 10 s trains for a few seconds at most, on 16k samples a step (a 250k pool is used 3-4 times).
SAMPLES_PER_SECOND, MIN_BUDGET_SAMPLES = 50_000, 100_000
#: Most points a cloud keeps when it is read for fitting (recon.MAX_POINTS decides for reconstructions).
MAX_POINTS = 2_000_000


def heavy():
    """THE SEAM where torch loads: the session module (and with it torch, the networks and the trainer),
    imported on first use. Everything before it in the pipeline (checks, loading, drawing samples) runs
    without torch, which takes 3-5 s to import on a 2-core machine."""
    return importlib.import_module(HEAVY)


def _import_training() -> None:
    heavy()
    importlib.import_module("torch._dynamo")  # torch.optim's first optimizer imports it: 1.4 s more


@dataclass
class FitResult:
    """What the pipeline returns: the session (field, model, trainer), the extracted mesh in world units (its
    `resolution` lower than asked when a time budget required it), its metrics (None unless measured),
    seconds from the budget's start to the written surface, the last snapshot, the seconds of each phase and
    the hooks' writing problems."""

    session: ShapeSession
    mesh: Mesh
    metrics: object
    seconds: float
    last: Snapshot
    phases: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    @property
    def field(self):
        """The trained Field of the session."""
        return self.session.field


class ShapePipeline:
    """load -> prepare -> sampling -> training -> extraction -> writing -> measures for one shape.

    cfg: the fit configuration (a prepare hook may replace it); hooks: the callers' additions, called in
    order; budget: the wall-clock budget (default: cfg.train.seconds from now); measure: True for the
    surface measures against the input (ShapeSession.metrics), False for none, or a function
    (session, mesh) -> measures; live_measures: the live measures during training (best checkpoint);
    resolution: extraction cells per side (default cfg.resolution); report_every: steps between snapshots
    (default 10; 1 on a CPU under a time budget, so that it ends on time)."""

    def __init__(
        self,
        cfg: FitConfig = FitConfig(),
        hooks: Sequence[Hooks] = (),
        budget: Budget | None = None,
        device: str | None = None,
        measure: bool | Callable = True,
        live_measures: bool = False,
        resolution: int | None = None,
        report_every: int | None = None,
    ):
        self.cfg = cfg
        self.hooks = list(hooks)
        self.budget = budget or Budget(cfg.train.seconds)
        self.device = device
        self.measure_with = measure
        self.live_measures = live_measures
        self.resolution = resolution
        self.report_every = report_every
        self.phases: dict[str, float] = {}
        #: seconds of one dense 33^3 evaluation of the network, measured when a timed training begins
        self.probe_seconds: float | None = None
        self._warm: threading.Thread | None = None

    @property
    def timed(self) -> bool:
        """Whether a time budget holds."""
        return self.budget.seconds is not None

    @contextmanager
    def phase(self, name: str):
        """Time the block into phases[name] (added to what it had), after telling the hooks it begins."""
        for h in self.hooks:
            h.phase(name)
        t = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - t

    # -- the whole sequence --------------------------------------------------------------------------------
    def run(self, source, output=None) -> FitResult:
        """The whole pipeline for a file path, a Geometry or a ShapeSession (which continues training):
        the FitResult; the mesh is written to `output` when given."""
        session = self.open(self.load(source)) if isinstance(source, (str, os.PathLike, Geometry)) else source
        last = self.train(session)
        mesh = self.extract(session)
        problems = self.write(session, mesh, last, output)
        seconds = self.budget.spent()
        metrics = self.measure(session, mesh)
        return FitResult(session, mesh, metrics, seconds, last, dict(self.phases), problems)

    # -- the phases ---------------------------------------------------------------------------------------
    def load(self, source, max_points: int = MAX_POINTS, **options) -> Geometry:
        """The geometry at a path (a Geometry is taken as it is); options: the loader's (e.g. mask)."""
        if isinstance(source, Geometry):
            return source
        with self.phase("load"):
            self.warm_up()
            return load(source, max_points=max_points, seed=self.cfg.train.seed, **options)

    def open(self, geometry: Geometry, normalization: Normalization | None = None) -> ShapeSession:
        """The prepare hooks, then a ShapeSession for the geometry: a mesh's samples are drawn here (while the
        training modules import, when they are not yet loaded) and passed to the session."""
        t = time.perf_counter()
        prepared = geometry
        for h in self.hooks:
            prepared = h.prepare(prepared)
        if prepared is not geometry:
            self.phases["prepare"] = time.perf_counter() - t
        with self.phase("sampling"):
            cfg, notice = resolve_target(prepared, self.sampling_for_budget(self.cfg))  # 'auto' made concrete once
            norm = normalization or Normalization.fit(prepared.vertices, cfg.margin)
            drawn = prepared.is_mesh or cfg.target == "udf"  # a cloud's signed losses need no samples
            samples = self.draw_samples(prepared.transformed(norm), cfg) if drawn else None
            self.warmed()
            session = heavy().ShapeSession(prepared, cfg, norm, self.device, samples=samples)
            session.target_notice = notice
            return session

    def sampling_for_budget(self, cfg: FitConfig) -> FitConfig:
        """cfg with no more training samples than a short time budget can train on: SAMPLES_PER_SECOND per second
        of the budget, at least MIN_BUDGET_SAMPLES (a step budget, or a budget of 10 s and more, keeps them all)."""
        if not self.timed:
            return cfg
        n = max(MIN_BUDGET_SAMPLES, int(SAMPLES_PER_SECOND * self.budget.seconds))
        return cfg if n >= cfg.sampling.n_samples else replace(cfg, sampling=replace(cfg.sampling, n_samples=n))

    def draw_samples(self, unit: Geometry, cfg: FitConfig | None = None):
        """The training samples of a normalised mesh (signed or unsigned distances, as cfg's target) or of a
        point cloud for an unsigned target (no torch needed for either), drawn while another thread imports the
        training modules when they are not loaded yet (torch and its optimiser's compiler hooks take 2-3 s to
        import on a 2-core machine, drawing the samples of a 100k-face mesh 2 s)."""
        cfg = cfg or self.cfg
        self.warm_up()
        if cfg.target == "udf":
            samples = udf_samples(unit, cfg)
        else:
            samples = cached_mesh_samples(unit.vertices, unit.faces, cfg.sampling, seed=cfg.train.seed)
        self.warmed()
        return samples

    def warm_up(self) -> None:
        """Start importing the training modules in another thread (once, and only when they are not loaded), so
        that reading the file and drawing samples happen meanwhile."""
        if self._warm is not None or HEAVY in sys.modules:
            return
        # open3d (the exact distances) walks sys.modules while it imports: a thread importing at the same
        # time would change it under its feet, so it loads first
        importlib.import_module("open3d")
        self._warm = threading.Thread(target=_import_training, daemon=True)
        self._warm.start()

    def warmed(self) -> None:
        """Wait for the training modules' import started by warm_up (nothing when none was started)."""
        if self._warm is not None:
            self._warm.join()
            self._warm = None

    def _after_training(self) -> float:
        """Seconds to keep after training: extraction, writing, measures."""
        share = EXTRACTION_SHARE * self.budget.seconds
        extraction = share if self.probe_seconds is None else min(share, EXTRACTION_FACTOR * self.probe_seconds)
        return extraction + self._after_extraction()

    def _after_extraction(self) -> float:
        return WRITE_RESERVE + (MEASURE_RESERVE if self.measure_with else 0.0)

    def training_deadline(self) -> float | None:
        """The perf_counter time at which training ends under the time budget (None: the step budget)."""
        if not self.timed:
            return None
        b = self.budget
        now = time.perf_counter()
        return max(b.deadline - self._after_training(), now + MIN_TRAINING_SHARE * b.seconds)

    def steps(self, session: ShapeSession, until: float | None = None, **run_kw):
        """The session's snapshots, each passed to the hooks; with `until` (a perf_counter time), the trainer's
        time budget follows the wall clock so that its last step ends by then."""
        if until is not None:
            keep_time(session, until)
        for snap in session.run(**run_kw):
            if until is not None:
                keep_time(session, until)
            for h in self.hooks:
                h.snapshot(snap)
            yield snap

    def train(self, session: ShapeSession) -> Snapshot:
        """Run the session to the end of its budget; the last snapshot."""
        with self.phase("training"):
            began, surface = time.perf_counter(), False
            if self.timed:  # how fast the network evaluates here and now, for the extraction's share of the time
                surface = session.has_surface()
                self.probe_seconds = time.perf_counter() - began
            until = self.training_deadline()
            every = self.report_every or (1 if until is not None and session.trainer.device.type == "cpu" else 10)
            if until is not None:
                limit = max(self.budget.deadline, began + MIN_TRAINING_SHARE * self.budget.seconds) + SURFACE_GRACE
                if not surface and self.budget.left() <= self._after_training():  # loading overran: no least
                    # training (its rate would anneal to nothing before the search), the first surface at once
                    first = self.until_surface(session, None, limit, every)
                    if first is not None:
                        return first
            snaps = self.steps(session, until, report_every=every, measures=self.live_measures)
            last = deque(snaps, maxlen=1)[0]
            if until is None or last.message == "stopped":
                return last
            return last if session.has_surface() else self.until_surface(session, last, limit, every)

    def until_surface(self, session: ShapeSession, last: Snapshot, limit: float, every: int) -> Snapshot:
        """Train a field that has no surface yet until it has one (looked for every SURFACE_SLICE seconds) or until
        perf_counter time `limit`; the last snapshot (`last` when no step fitted in). The trainer's budget runs to
        `limit`, so the steps keep a useful rate (in short slices a grid field needed 35-45 steps, not 15-25); past the
        budget's end, on a CPU, they draw SURFACE_BATCH_SHARE of the batch: the first, coarse surface that quick
        updates find sooner (0.4-0.6 s to it on the shared meshes instead of 1.1-2.0 s) is rougher, which a run
        still inside its budget does not trade for time."""
        task, looked = session.trainer.task, time.perf_counter()
        full = task.batch_size
        if session.trainer.device.type == "cpu" and looked >= self.budget.deadline:  # late already: quick steps
            task.batch_size = max(1024, int(full * SURFACE_BATCH_SHARE))
        try:
            for snap in self.steps(session, limit, report_every=every):
                last = snap
                if time.perf_counter() - looked >= SURFACE_SLICE:
                    if session.has_surface():
                        break
                    looked = time.perf_counter()
        finally:
            task.batch_size = full
        return last

    def extract(self, session: ShapeSession) -> Mesh:
        """The surface at the pipeline's resolution (coarser when the time left requires), then the hooks'
        finish."""
        with self.phase("extraction"):
            seconds = max(0.0, self.budget.left() - self._after_extraction()) if self.timed else None
            try:
                mesh = session.extract(self.resolution, seconds)
            except NoSurfaceError as e:
                if not self.timed:
                    raise
                raise NoSurfaceError(
                    f"{e}: the {self.budget.seconds:g} s budget ended before the network had learned one "
                    f"({self.phases.get('load', 0) + self.phases.get('sampling', 0):.1f} s went to loading and "
                    "preparing; give it more seconds)"
                ) from None
            for h in self.hooks:
                mesh = h.finish(mesh, session)
            return mesh

    def write(self, session: ShapeSession, mesh: Mesh, last: Snapshot, output=None) -> list:
        """The mesh to output (when given), then the hooks' writing; their problems."""
        with self.phase("writing"):
            if output is not None:
                save_mesh(output, mesh.vertices, mesh.faces)
            return [p for h in self.hooks for p in h.write(session, mesh, last)]

    def measure(self, session: ShapeSession, mesh: Mesh):
        """The measures asked for (None when none)."""
        if not self.measure_with:
            return None
        with self.phase("measures"):
            if callable(self.measure_with):
                return self.measure_with(session, mesh)
            return session.metrics(mesh, max(0.0, self.budget.left()) if self.timed else None)


def keep_time(session: ShapeSession, until: float) -> None:
    """Move the trainer's time budget so that it is spent at perf_counter time `until`: training seconds so
    far plus the wall time left (what happens between steps counts against the budget too)."""
    st = session.trainer.state
    session.trainer.set_seconds(st.elapsed + max(0.0, until - time.perf_counter()))
