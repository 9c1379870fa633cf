"""What the worker thread hands to the GUI thread: plain numpy arrays, prepared off the GUI thread.

Nothing here imports Qt or VTK. The worker turns a trainer Snapshot (and its preview dict) into a Frame whose
arrays are ready to be wrapped by VTK without further work on the GUI thread: float32 points, smooth vertex
normals, the flat VTK cell array ([3, i, j, k, 3, ...]) and the zero contour of each slice as polylines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Input point clouds larger than this are subsampled for display (training still uses them all).
MAX_DISPLAY_POINTS = 100_000


@dataclass(frozen=True)
class SurfaceFrame:
    """A triangle mesh ready for VTK: points (N, 3) float32, normals (N, 3) float32, cells flat int64."""

    points: np.ndarray
    normals: np.ndarray
    cells: np.ndarray

    @property
    def n_faces(self) -> int:
        return len(self.cells) // 4


@dataclass(frozen=True)
class SliceFrame:
    """One axis-aligned slice of the field.

    values: (H, W) float32 (rows follow the second in-plane axis); extent: (u0, u1, v0, v1) world units;
    contour_points (K, 3) float32 and contour_lines (flat VTK polyline cells) trace the zero level.
    """

    axis: int
    offset: float
    values: np.ndarray
    extent: tuple
    contour_points: np.ndarray
    contour_lines: np.ndarray
    rgb: np.ndarray | None = None
    """(H, W, 3) uint8 colours of `values` under the diverging colour map (set by `colorize`)."""

    def quad(self) -> tuple[np.ndarray, np.ndarray]:
        """The plane as 4 corners (world units) and their texture coordinates. The texture's texels are
        centred on the samples, so the corners sit half a texel inside the texture's edges."""
        h, w = self.values.shape
        others = [a for a in range(3) if a != self.axis]
        u0, u1, v0, v1 = self.extent
        pts = np.zeros((4, 3), np.float32)
        pts[:, self.axis] = self.offset
        pts[:, others[0]] = (u0, u1, u1, u0)
        pts[:, others[1]] = (v0, v0, v1, v1)
        su, sv = 0.5 / w, 0.5 / h
        tc = np.array([[su, sv], [1 - su, sv], [1 - su, 1 - sv], [su, 1 - sv]], np.float32)
        return pts, tc


@dataclass(frozen=True)
class Frame:
    """One message from the worker.

    snapshot: the trainer's Snapshot (None for frames that only carry a preview, e.g. after a slider move);
    losses: [(step, {term: value}), ...] since the previous frame; surface: a new surface, or None;
    no_surface: the preview found no zero crossing yet (hide the surface); slices: {axis: SliceFrame};
    slice_limit: the symmetric colour range shared by the slices; final: the end-of-run preview;
    views: what the inspection views asked for (shape/inspect.py: 'samples', 'error', 'slice_error_limit',
    'measures').
    """

    snapshot: object = None
    losses: list = field(default_factory=list)
    surface: SurfaceFrame | None = None
    no_surface: bool = False
    slices: dict = field(default_factory=dict)
    slice_limit: float | None = None
    final: bool = False
    views: dict = field(default_factory=dict)


def vtk_cells(faces: np.ndarray) -> np.ndarray:
    """(F, 3) triangle indices -> flat VTK cell array [3, a, b, c, 3, ...] (int64)."""
    f = np.asarray(faces, dtype=np.int64)
    out = np.empty((len(f), 4), dtype=np.int64)
    out[:, 0] = 3
    out[:, 1:] = f
    return out.ravel()


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (N, 3) float32; faces are expected oriented outward."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    vn = np.zeros_like(v)
    for k in range(3):
        for c in range(3):
            vn[:, c] += np.bincount(f[:, k], weights=fn[:, c], minlength=len(v))
    n = np.linalg.norm(vn, axis=1, keepdims=True)
    return (vn / np.where(n > 0, n, 1.0)).astype(np.float32)


def surface_frame(vertices: np.ndarray, faces: np.ndarray) -> SurfaceFrame:
    v = np.ascontiguousarray(vertices, dtype=np.float32)
    return SurfaceFrame(v, vertex_normals(vertices, faces), vtk_cells(faces))


def slice_frame(image, surface: tuple | None = None) -> SliceFrame:
    """A SliceFrame from the core's SliceImage, with its zero contour traced (marching squares); for an
    unsigned field, whose values do not change sign, the zero set is where `surface` ((V, 3), (F, 3) world
    units: the open surface extracted from it) crosses the plane."""
    from skimage.measure import find_contours

    if getattr(image, "unsigned", False):
        return _unsigned_frame(image, surface)
    vals = np.ascontiguousarray(image.values, dtype=np.float32)
    h, w = vals.shape
    u0, u1, v0, v1 = image.extent
    others = [a for a in range(3) if a != image.axis]
    pts, lines, start = [], [], 0
    finite = np.isfinite(vals)
    if finite.all() and vals.min() < 0.0 < vals.max():
        for c in find_contours(vals, 0.0):
            p = np.empty((len(c), 3), np.float32)
            p[:, image.axis] = image.offset
            p[:, others[0]] = u0 + c[:, 1] * (u1 - u0) / max(w - 1, 1)
            p[:, others[1]] = v0 + c[:, 0] * (v1 - v0) / max(h - 1, 1)
            pts.append(p)
            lines.append(np.concatenate([[len(c)], np.arange(start, start + len(c))]))
            start += len(c)
    cp = np.concatenate(pts) if pts else np.zeros((0, 3), np.float32)
    cl = np.concatenate(lines).astype(np.int64) if lines else np.zeros(0, np.int64)
    return SliceFrame(image.axis, float(image.offset), vals, tuple(map(float, image.extent)), cp, cl)


def _unsigned_frame(image, surface: tuple | None) -> SliceFrame:
    from ...extract import plane_section

    seg = plane_section(*surface, image.axis, image.offset) if surface is not None else np.zeros((0, 2, 3))
    pts = seg.reshape(-1, 3).astype(np.float32)
    lines = np.column_stack([np.full(len(seg), 2), 2 * np.arange(len(seg)), 2 * np.arange(len(seg)) + 1]).ravel()
    vals = np.ascontiguousarray(image.values, dtype=np.float32)
    return SliceFrame(
        image.axis, float(image.offset), vals, tuple(map(float, image.extent)), pts, lines.astype(np.int64)
    )


_LUT: np.ndarray | None = None


def diverging_lut(n: int = 256) -> np.ndarray:
    """(n, 3) uint8 colours of the diverging map: matplotlib's RdBu reversed (blue negative, white zero, red
    positive) without its darkest fifths, so that the saturated far field reads as a calm salmon."""
    global _LUT
    if _LUT is None or len(_LUT) != n:
        from matplotlib import colormaps

        _LUT = (colormaps["RdBu_r"](np.linspace(0.2, 0.8, n))[:, :3] * 255 + 0.5).astype(np.uint8)
    return _LUT


def colorize(values: np.ndarray, limit: float) -> np.ndarray:
    """(H, W, 3) uint8: values mapped symmetrically, -limit -> blue, 0 -> white, +limit -> red."""
    lut = diverging_lut()
    t = np.nan_to_num(values / max(float(limit), 1e-30), nan=0.0, posinf=1.0, neginf=-1.0)
    idx = np.clip(((t + 1.0) * 0.5 * (len(lut) - 1) + 0.5).astype(np.int32), 0, len(lut) - 1)
    return lut[idx]


def with_colors(slices: dict, limit: float | None) -> dict:
    """The slices with their colour images filled in (one shared symmetric range)."""
    from dataclasses import replace

    lim = limit if limit else (slice_limit(slices) or 1.0)
    return {a: replace(s, rgb=colorize(s.values, lim)) for a, s in slices.items()}


def slice_limit(slices: dict) -> float | None:
    """A symmetric colour range for the slices: the 98th percentile of |value| over all of them."""
    vals = [np.abs(s.values[np.isfinite(s.values)]) for s in slices.values()]
    vals = [v for v in vals if v.size]
    if not vals:
        return None
    lim = float(np.percentile(np.concatenate(vals), 98))
    return lim if lim > 0 else 1e-6


def display_points(points: np.ndarray, limit: int = MAX_DISPLAY_POINTS, seed: int = 0) -> np.ndarray:
    """At most `limit` points for drawing (a uniform random subset), float32."""
    p = np.asarray(points)
    if len(p) > limit:
        p = p[np.sort(np.random.default_rng(seed).choice(len(p), limit, replace=False))]
    return np.ascontiguousarray(p, dtype=np.float32)
