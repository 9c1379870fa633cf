"""Point clouds in the app: the normals training uses, the fit configuration, normal glyphs, and the
comparison with screened Poisson. Plain numpy and the core's `inrview.recon`; no Qt, no VTK.

The worker thread calls these and hands the results (frozen dataclasses of numpy arrays) to the GUI thread,
which only wraps them in VTK objects (frames.py does the same for surfaces and slices).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from ...config import FitConfig

#: The normals choices of the Data dock: mode (as `inrview reconstruct --normals`) -> label.
NORMAL_CHOICES = {
    "auto": "auto (file's, else estimated)",
    "file": "from the file",
    "orient": "file's, re-oriented",
    "estimate": "estimate (PCA + orient)",
    "none": "none (normal-free loss)",
}
#: At most this many normal glyphs are drawn (a uniform random subset of the points).
MAX_GLYPHS = 10_000
#: The comparison's view modes: key -> label.
VIEW_MODES = {"inrview": "inrview", "poisson": "Poisson", "side": "side by side"}


# == the normals and the configuration ============================================================================
@dataclass(frozen=True)
class GlyphFrame:
    """Normals as line segments ready for VTK: points (2M, 3) float32 (base, tip, base, tip, ...), lines flat
    VTK cells [2, 0, 1, 2, 2, 3, ...] int64, colors (2M, 3) uint8 (dark at the base, bright at the tip, so the
    direction reads without arrow heads); count: M glyphs; length: of each segment (world units)."""

    points: np.ndarray
    lines: np.ndarray
    colors: np.ndarray
    count: int
    length: float


GLYPH_BASE = np.array([30, 92, 120], np.uint8)
GLYPH_TIP = np.array([150, 236, 255], np.uint8)


def normal_glyphs(
    points: np.ndarray, normals: np.ndarray | None, limit: int = MAX_GLYPHS, seed: int = 0, length: float | None = None
) -> GlyphFrame | None:
    """Segments from up to `limit` points (a uniform random subset) along their unit normals. length None:
    1.5 times the median spacing of the drawn points, so that neighbouring glyphs barely touch (clamped to
    0.2%..3% of the bounding-box diagonal). None without normals."""
    if normals is None or len(points) == 0:
        return None
    p = np.asarray(points, dtype=np.float64)
    n = np.asarray(normals, dtype=np.float64)
    if len(p) > limit:
        idx = np.sort(np.random.default_rng(seed).choice(len(p), limit, replace=False))
        p, n = p[idx], n[idx]
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    n = n / np.where(norm > 0, norm, 1.0)
    diag = float(np.linalg.norm(p.max(axis=0) - p.min(axis=0))) or 1.0
    if length is None:
        if len(p) > 1:
            from scipy.spatial import cKDTree

            d, _ = cKDTree(p).query(p, k=2)
            length = 1.5 * float(np.median(d[:, 1]))
        else:
            length = 0.02 * diag
        length = float(np.clip(length, 0.002 * diag, 0.03 * diag))
    m = len(p)
    seg = np.empty((2 * m, 3), np.float32)
    seg[0::2] = p
    seg[1::2] = p + length * n
    cells = np.empty((m, 3), np.int64)
    cells[:, 0] = 2
    cells[:, 1] = np.arange(0, 2 * m, 2)
    cells[:, 2] = cells[:, 1] + 1
    colors = np.empty((2 * m, 3), np.uint8)
    colors[0::2] = GLYPH_BASE
    colors[1::2] = GLYPH_TIP
    return GlyphFrame(seg, cells.ravel(), colors, m, length)


@dataclass(frozen=True)
class CloudState:
    """What the GUI needs to know about the normals of the open cloud.

    mode: the Data dock's choice it was prepared with; report: the core's NormalReport (report.flipped: how
    many normals the orientation reversed); summary: one line for the report and the log; notices: the
    preparation's notices; glyphs: the normals training uses (None without); points: training points;
    config: the fit configuration the model dock should show (the recon's pick for this cloud)."""

    mode: str
    report: object
    summary: str
    notices: list
    glyphs: GlyphFrame | None
    points: int
    config: FitConfig
    report_lines: list = field(default_factory=list)


def prepare(geometry, mode: str, k: int = 30):
    """The core's prepare_cloud with an app-friendly error: (prepared geometry, NormalReport).

    Raises InrviewError naming the file when the mode cannot be used (e.g. 'file' on a cloud without
    normals)."""
    from ...errors import InrviewError
    from ...recon import prepare_cloud

    try:
        return prepare_cloud(geometry, mode, k=k)
    except ValueError as err:
        raise InrviewError(f"{geometry.source or 'the point cloud'}: {err}") from None


def suggested_config(points: np.ndarray, has_normals: bool, panel: FitConfig) -> FitConfig:
    """What the model dock should show for a cloud: the network `recon.config_for` picks for it (by density
    and noise; the ReLU network with geometric initialisation, IGR, without normals), its batch size and the automatic
    learning rate; the budget, device and threads stay the user's."""
    from ...recon import config_for

    auto = config_for(points, "auto", normals=has_normals)
    model = dataclasses.replace(auto.model, geometric_init=False, activation="relu")  # what the dock can show
    train = dataclasses.replace(panel.train, lr=None, batch_size=auto.train.batch_size)
    return dataclasses.replace(panel, model=model, target="sdf", train=train)


def cloud_config(cfg: FitConfig):
    """The model dock's FitConfig as the point-cloud configuration training uses (the loss left to the
    recon default): ReLU and
    Fourier MLPs get IGR's geometric initialisation and softplus (the eikonal and normal-free losses need
    them) and, with the automatic rate, the recon's learning rate for them; the target is the signed
    distance; the loss is the recon's default for the family and the normals."""
    from ...config import cloud_model_config, family
    from ...recon import default_config

    m = cfg.model
    if family(m.kind).cloud_model:
        extra = cloud_model_config(m.kind)  # the family table says what a cloud's network needs
        m = dataclasses.replace(m, geometric_init=extra.geometric_init, activation=extra.activation)
    lr = cfg.train.lr
    if lr is None:
        lr = default_config(seconds=None, model=m.kind, threads=1).train.lr
    base = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(FitConfig)}
    base.update(model=m, target="sdf", train=dataclasses.replace(cfg.train, lr=lr), cloud=None)
    return FitConfig(**base)


def report_lines(load_lines: list[str], report) -> list[str]:
    """The load report with what training does with the normals (a NormalReport), in lines short enough for
    the Data dock: where they come from, how many the orientation flipped (the whole summary is logged)."""
    src = report.source
    if src == "none":
        extra = ["training:    no normals (IGR)"]
    elif src == "file":
        extra = ["training:    file's normals"]
    else:
        what = "estimated" if src == "estimated" else "file's, re-oriented"
        extra = [f"training:    {what} (k={report.k})", f"flipped:     {report.flipped} of {report.points}"]
        if report.agreement is not None:
            extra.append(f"agreement:   {100 * report.agreement:.1f}% with file")
    out = list(load_lines)
    at = next((i for i, line in enumerate(out) if line.startswith("normals:")), len(out) - 1)
    out[at + 1 : at + 1] = extra
    return out


# == the comparison with screened Poisson =========================================================================
@dataclass(frozen=True)
class Scores:
    """How one surface explains the cloud (and, with a reference mesh, how close it is to it).

    mean_rel: mean distance from the input points to the surface / bounding-box diagonal; far_area: share of
    the surface area farther than 2% of the diagonal from every point; watertight; faces; seconds: the time
    that made it (training time so far for inrview, reconstruction for Poisson); chamfer, f_score, threshold:
    two-sided Chamfer-L1 and F-score against the reference (None without)."""

    mean_rel: float
    far_area: float
    watertight: bool
    faces: int
    seconds: float
    chamfer: float | None = None
    f_score: float | None = None
    threshold: float | None = None
    measure_seconds: float = 0.0


def score(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, seconds: float, reference=None) -> Scores:
    """`recon.data_fit` of a surface, plus `metrics.surface_metrics` against a reference mesh when given."""
    from ...metrics import data_fit

    t0 = time.perf_counter()
    d = data_fit(points, vertices, faces)
    chamfer = f = thr = None
    if reference is not None:
        from ...metrics import surface_metrics

        m = surface_metrics(vertices, faces, reference.vertices, reference.faces, n_samples=100_000)
        chamfer, f, thr = float(m.chamfer_l1), float(m.f_score), float(m.threshold)
    return Scores(
        d.mean_rel,
        d.far_area_fraction,
        bool(d.watertight),
        int(len(faces)),
        float(seconds),
        chamfer,
        f,
        thr,
        time.perf_counter() - t0,
    )


def clean_surface(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The neural surface as `inrview reconstruct` measures it: coinciding vertices welded and small closed
    pieces removed."""
    from ...recon import drop_small_components, weld
    from ...recon.pipeline import MIN_COMPONENT

    v, f = weld(vertices, faces)
    v, f, _ = drop_small_components(v, f, MIN_COMPONENT)
    return v, f


@dataclass(frozen=True)
class Comparison:
    """The result of Compare with Poisson, for the GUI thread.

    poisson: the Poisson surface (frames.SurfaceFrame), or None when this result only re-measures;
    scores: {'inrview': Scores | None, 'poisson': Scores}; depth: Poisson's octree depth; normals: how
    Poisson's normals were obtained; seconds: wall time of the whole command; reference: the reference
    mesh's path (or '')."""

    poisson: object
    scores: dict
    depth: int
    normals: str
    seconds: float
    reference: str = ""

    def lines(self) -> list[str]:
        """The log lines of the comparison: each surface's scores (or that inrview has none yet)."""
        neural = self.scores["inrview"]
        return [
            format_scores("inrview", neural) if neural else "inrview: no surface yet",
            format_scores(f"Poisson (depth {self.depth})", self.scores["poisson"]),
        ]


def format_scores(name: str, s: Scores) -> str:
    """One log line for a surface's scores."""
    text = (
        f"{name}: data->surface mean {100 * s.mean_rel:.3f}% of the diagonal, far area {100 * s.far_area:.2f}%, "
        f"{'watertight' if s.watertight else 'not watertight'}, {s.faces} faces, {s.seconds:.1f} s"
    )
    if s.chamfer is not None:
        text += f"; vs reference: Chamfer-L1 {s.chamfer:.3e}, F@{s.threshold:g} {s.f_score:.4f}"
    return text
