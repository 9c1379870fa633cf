"""From a scan to a surface in plain functions: normals, the neural fit, the Poisson baseline and the
measures. The command line (`inrview reconstruct`), the benchmark and the app all call these.

    >>> from inrview import load, recon
    >>> scan = load("gargoyle.ply", max_points=recon.MAX_POINTS)
    >>> result = recon.reconstruct(scan)                     # normals from the file, else estimated
    >>> base = recon.poisson_for(scan)                        # the classical baseline on the same points
    >>> recon.data_fit(scan.vertices, result.mesh.vertices, result.mesh.faces).summary()
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..config import CloudLossConfig, FitConfig, TrainConfig, cloud_model_config, default_cloud_loss, family
from ..io.geometry import Geometry, Normalization
from ..shape.hooks import Budget, Hooks, ProgressHook
from ..shape.pipeline import ShapePipeline
from .cleanup import drop_small_components, weld
from .normals import NormalMode, NormalReport, orientation_consistency, prepare_normals
from .poisson import PoissonResult, poisson_reconstruct

if TYPE_CHECKING:  # the shape pipeline loads torch only when it trains
    from ..extract import Mesh

#: The network family clouds are fitted with unless one is named: 'auto' picks by the cloud's density
#: (see auto_model and docs/readme_reconstruct.md).
DEFAULT_MODEL = "auto"
#: Pieces of the surface smaller than this share of the largest piece's area are removed.
MIN_COMPONENT = 0.01
#: Clouds larger than this are subsampled for training (and for the baseline) with a notice.
MAX_POINTS = 250_000
#: Default training budget in seconds.
DEFAULT_SECONDS = 30.0
#: Samples per step (half of them input points).
DEFAULT_BATCH = 4096


def _unit_sample(points: np.ndarray, sample: int, seed: int):
    """The cloud in normalised units (cube [-1, 1] with the default margin), its KD-tree and the indices
    of up to `sample` of its points (in random order, so a prefix is a smaller random sample)."""
    from scipy.spatial import cKDTree  # scipy: loaded when a cloud is measured, not with the command line

    pts = Normalization.fit(points).to_unit(points)
    idx = np.random.default_rng(seed).choice(len(pts), min(sample, len(pts)), replace=False)
    return pts, cKDTree(pts), idx


def _spacing(pts, tree, idx) -> float:
    d, _ = tree.query(pts[idx], k=2, workers=-1)
    return float(np.median(d[:, 1]))


def _noise(pts, tree, idx, k: int) -> float:
    if len(pts) < 4:
        return 0.0
    _, nb = tree.query(pts[idx], k=min(k, len(pts)), workers=-1)
    q = pts[nb] - pts[nb].mean(axis=1, keepdims=True)
    cov = np.einsum("nki,nkj->nij", q, q) / q.shape[1]
    return float(np.median(np.sqrt(np.maximum(np.linalg.eigvalsh(cov)[:, 0], 0.0))))


#: Points sampled for the spacing and for the noise estimate.
SPACING_SAMPLE, NOISE_SAMPLE = 20_000, 4000


def point_spacing(points: np.ndarray, sample: int = SPACING_SAMPLE, seed: int = 0) -> float:
    """Typical distance between neighbouring points, in normalised units (cube [-1, 1] with the default
    margin): the median nearest-neighbour distance on up to `sample` points."""
    return _spacing(*_unit_sample(points, sample, seed))


def noise_level(points: np.ndarray, k: int = 64, sample: int = NOISE_SAMPLE, seed: int = 0) -> float:
    """Typical scatter of the points off their surface, in normalised units: the median over up to
    `sample` points of the RMS distance of their k nearest neighbours from the neighbours' best-fitting
    plane. k is large so that the neighbourhood is wider than the noise (with 20 neighbours the plane
    follows the noise and the estimate saturates); curvature adds a little on sparse clouds."""
    return _noise(*_unit_sample(points, sample, seed), k)


def auto_model(
    points: np.ndarray, grid_resolution: int = 128, min_points_per_cell: float = 2.0, max_noise_per_cell: float = 0.5
) -> str:
    """'grid' when the cloud pins down the finest grid level: dense enough (at least
    min_points_per_cell points along a cell's side) and quiet enough (noise_level at most
    max_noise_per_cell of a cell); else 'siren'. A grid leaves holes and bubbles between sparse points
    and fits noise that is comparable to its cells, while a sine network interpolates smoothly (it was
    more accurate than the grid on the 2k and 10k-point benchmark clouds and on the 100k-point ones with
    0.5% noise, less on the other 100k ones). One KD-tree serves both measures."""
    if len(points) < 1000:
        return "siren"
    cell = 2.0 / grid_resolution
    pts, tree, idx = _unit_sample(points, SPACING_SAMPLE, 0)
    if _spacing(pts, tree, idx) * min_points_per_cell > cell:
        return "siren"
    return "grid" if _noise(pts, tree, idx[:NOISE_SAMPLE], 64) <= max_noise_per_cell * cell else "siren"


def small_cpu() -> bool:
    """Whether this machine has at most 4 CPU cores."""
    return (os.cpu_count() or 1) <= 4


def default_config(
    seconds: float | None = DEFAULT_SECONDS,
    model: str = "siren",
    steps: int = 3000,
    batch_size: int = DEFAULT_BATCH,
    resolution: int = 256,
    device: str = "auto",
    seed: int = 0,
    threads: int | None = None,
    lr: float | None = None,
    loss: CloudLossConfig | None = None,
    **model_overrides,
) -> FitConfig:
    """A fit configuration for point clouds. threads None: one torch thread on machines with up to 4 cores
    (OpenMP workers spinning beside other work made MLP steps several times slower on 2 cores)."""
    if threads is None and small_cpu():
        threads = 1
    if lr is None:
        lr = family(model).cloud_lr  # the family's rate for clouds (None: the trainer's default for the task)
    train = TrainConfig(
        steps=steps, seconds=seconds, batch_size=batch_size, device=device, seed=seed, threads=threads, lr=lr
    )
    return FitConfig(model=cloud_model_config(model, **model_overrides), train=train, resolution=resolution, cloud=loss)


def prepare_cloud(
    geometry: Geometry,
    normals: NormalMode = "auto",
    k: int = 30,
    orient_k: int = 20,
    consistency_threshold: float = 0.9,
) -> tuple[Geometry, NormalReport]:
    """A copy of the cloud with the normals training will use (None for mode 'none') and the report.

    In 'auto' mode, normals from the file that disagree in sign with their neighbours' too often (less
    than consistency_threshold of neighbour pairs agree: an unoriented scan) are re-oriented, with a
    notice."""
    if geometry.is_mesh:
        raise ValueError("prepare_cloud wants a point cloud; this geometry has faces")
    pts, nrm = geometry.vertices, geometry.normals
    notices = list(geometry.notices)
    mode = normals
    if mode == "auto" and nrm is not None:
        consistent = orientation_consistency(pts, nrm)
        if consistent < consistency_threshold:
            notices.append(
                f"normals in the file look unoriented (only {100 * consistent:.0f}% of neighbour "
                f"pairs agree in sign): re-orienting them"
            )
            mode = "orient"
    out, rep = prepare_normals(pts, nrm, mode, k, orient_k)
    if rep.source not in ("file", "none"):
        notices.append(rep.summary())
    return Geometry(pts, None, out, geometry.source, notices, geometry.units), rep


@dataclass
class Reconstruction:
    """A neural surface of a cloud. mesh: in the cloud's units; session: the ShapeSession (field, model,
    trainer); normals: what happened to the normals; seconds: wall time from the budget's start to the
    surface, with the parts in `timings` ('normals', 'samples', 'train', 'extract'); last: the trainer's
    last snapshot; dropped_pieces: small pieces removed from the surface; metrics: what the `measure` given
    to reconstruct returned; phases: the shape pipeline's phases; problems: the hooks' writing problems."""

    mesh: Mesh
    session: object
    normals: NormalReport
    seconds: float
    timings: dict
    last: object
    dropped_pieces: int = 0
    metrics: object = None
    phases: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    @property
    def field(self):
        """The trained Field of the session."""
        return self.session.field


class CloudHooks(Hooks):
    """A point cloud's part of the shape pipeline: its normals before the session (`prepared` when the
    caller has them already), and after extraction the surface welded and its small pieces removed."""

    def __init__(
        self,
        normals: NormalMode = "auto",
        prepared: tuple[Geometry, NormalReport] | None = None,
        min_component: float = MIN_COMPONENT,
    ):
        self.normals, self.prepared, self.min_component = normals, prepared, min_component
        self.report: NormalReport | None = None if prepared is None else prepared[1]
        self.dropped = 0

    def prepare(self, geometry: Geometry) -> Geometry:
        cloud, self.report = self.prepared or prepare_cloud(geometry, self.normals)
        return cloud

    def finish(self, mesh, session):
        mesh.vertices, mesh.faces = weld(mesh.vertices, mesh.faces)
        mesh.vertices, mesh.faces, self.dropped = drop_small_components(mesh.vertices, mesh.faces, self.min_component)
        return mesh


#: SIREN's capacity follows the data: below this many points 3 hidden layers and omega_0 = 20 (a smoother
#: prior: on armadillo at 2k points with 0.5% noise omega_0 30 fitted the noise, 8.9e-3 Chamfer against
#: 7.6e-3), from it on 4 layers and omega_0 = 30 (at 10k points 10-15% more accurate than 3 layers).
SIREN_DEEP_POINTS = 5000


def config_for(points: np.ndarray, model: str = DEFAULT_MODEL, normals: bool = True, **kw) -> FitConfig:
    """default_config for this cloud. model 'auto': auto_model(points) with normals; without normals
    (the normal-free loss) the ReLU network with geometric initialisation (IGR), the one family whose
    initial sphere gives the sign that normals would otherwise give. SIREN's depth and omega_0 follow the
    point count (SIREN_DEEP_POINTS) unless given."""
    if model == "auto":
        model = auto_model(points) if normals else "relu"
    if model == "siren":
        deep = len(points) >= SIREN_DEEP_POINTS
        if kw.get("depth") is None:
            kw["depth"] = 4 if deep else 3
        if kw.get("omega0") is None:
            kw["omega0"] = 30.0 if deep else 20.0
    return default_config(model=model, **kw)


def reconstruct(
    geometry: Geometry,
    cfg: FitConfig | None = None,
    normals: NormalMode = "auto",
    progress=None,
    device: str | None = None,
    prepared: tuple[Geometry, NormalReport] | None = None,
    min_component: float = MIN_COMPONENT,
    started: float | None = None,
    hooks=(),
    measure=False,
) -> Reconstruction:
    """Fit a neural SDF to a point cloud and extract its zero level (watertight, in the cloud's units): the
    shape pipeline (ShapePipeline) with CloudHooks.

    cfg: None picks config_for(points); normals: see prepare_normals; progress: called with each trainer
    Snapshot; prepared: the result of prepare_cloud when the caller already has it; min_component: pieces
    smaller than this share of the largest one are removed (0 keeps all); started: the perf_counter time a
    time budget (cfg.train.seconds) counts from, wall time to the measured surface (default: this call);
    hooks: more pipeline Hooks; measure: a function (session, mesh) -> measures, run in the budget."""
    has_normals = prepared[0].normals is not None if prepared else normals != "none"
    cfg = cfg or config_for(geometry.vertices, normals=has_normals)
    cloud = CloudHooks(normals, prepared, min_component)
    extra = [ProgressHook(progress)] if progress is not None else []
    budget = Budget(cfg.train.seconds, time.perf_counter() if started is None else started)
    every = None if cfg.train.seconds is not None else 25
    pipeline = ShapePipeline(cfg, [cloud, *extra, *hooks], budget, device, measure, report_every=every)
    res = pipeline.run(geometry)
    ph = res.phases
    timings = {
        "normals": ph.get("prepare", 0.0),
        "samples": ph.get("sampling", 0.0),
        "train": ph.get("training", 0.0),
        "extract": ph.get("extraction", 0.0),
    }
    return Reconstruction(
        res.mesh,
        res.session,
        cloud.report,
        res.seconds,
        timings,
        res.last,
        cloud.dropped,
        res.metrics,
        ph,
        res.problems,
    )


def poisson_for(
    geometry: Geometry,
    normals: NormalMode = "auto",
    depth: int | None = None,
    trim_quantile: float = 0.02,
    prepared: tuple[Geometry, NormalReport] | None = None,
) -> tuple[PoissonResult, NormalReport]:
    """Screened Poisson on the same points, with the normals the neural fit would use (estimated when
    the mode gives none: Poisson cannot work without). Returns (result, normal report)."""
    cloud, report = prepared or prepare_cloud(geometry, normals)
    if cloud.normals is None:
        cloud, report = prepare_cloud(geometry, "estimate")
    return poisson_reconstruct(cloud.vertices, cloud.normals, depth, trim_quantile), report


def with_loss(cfg: FitConfig, **changes) -> FitConfig:
    """A copy of cfg whose point-cloud loss has these fields changed."""
    base = cfg.cloud or default_cloud_loss(cfg.model.kind, True)
    return dataclasses.replace(cfg, cloud=dataclasses.replace(base, **changes))


def as_cloud(points: np.ndarray, normals: np.ndarray | None = None, source: str = "") -> Geometry:
    """A Geometry for points (and normals) held in memory."""
    return Geometry(
        np.asarray(points, dtype=np.float64),
        None,
        None if normals is None else np.asarray(normals, dtype=np.float64),
        source,
    )
