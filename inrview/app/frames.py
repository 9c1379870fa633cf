"""What the worker thread hands to the GUI thread: plain numpy arrays, prepared off the GUI thread.

Nothing here imports Qt or VTK. The worker turns a trainer Snapshot (and its preview dict) into a Frame whose
arrays are ready to be wrapped by VTK without further work on the GUI thread: float32 points, smooth vertex
normals, the flat VTK cell array ([3, i, j, k, 3, ...]) and the zero contour of each slice as polylines.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Input point clouds larger than this are subsampled for display (training still uses them all).
MAX_DISPLAY_POINTS = 200_000


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

    def origin_spacing_dims(self) -> tuple[tuple, tuple, tuple]:
        """ImageData placement: the plane has one sample along `axis`, W along the first in-plane axis
        and H along the second, so values.ravel() (row-major) is VTK's x-fastest point order."""
        h, w = self.values.shape
        others = [a for a in range(3) if a != self.axis]
        origin, spacing, dims = [0.0] * 3, [1.0] * 3, [1] * 3
        origin[self.axis] = self.offset
        origin[others[0]], origin[others[1]] = self.extent[0], self.extent[2]
        spacing[others[0]] = (self.extent[1] - self.extent[0]) / max(w - 1, 1)
        spacing[others[1]] = (self.extent[3] - self.extent[2]) / max(h - 1, 1)
        dims[others[0]], dims[others[1]] = w, h
        return tuple(origin), tuple(spacing), tuple(dims)


@dataclass(frozen=True)
class Frame:
    """One message from the worker.

    snapshot: the trainer's Snapshot (None for frames that only carry a preview, e.g. after a slider move);
    losses: [(step, {term: value}), ...] since the previous frame; surface: a new surface, or None;
    no_surface: the preview found no zero crossing yet (hide the surface); slices: {axis: SliceFrame};
    slice_limit: the symmetric colour range shared by the slices; final: the end-of-run preview.
    """

    snapshot: object = None
    losses: list = field(default_factory=list)
    surface: SurfaceFrame | None = None
    no_surface: bool = False
    slices: dict = field(default_factory=dict)
    slice_limit: float | None = None
    final: bool = False
    seconds: float = 0.0
    """Worker seconds spent computing this frame's preview (extraction and slices)."""


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


def slice_frame(image) -> SliceFrame:
    """A SliceFrame from the core's SliceImage, with its zero contour traced (marching squares)."""
    from skimage.measure import find_contours

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
