"""Geometry in memory, the similarity transform into the unit cube, and the load report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np


@dataclass
class Geometry:
    """A loaded mesh or point cloud, in the input's own units.

    vertices: (N, 3) float64 positions (mesh vertices or cloud points).
    faces: (M, 3) int64 triangle indices for meshes; None for point clouds.
    normals: (N, 3) float64 unit normals per vertex/point, or None when the file has none.
    source: the path it came from ("" when built in memory).
    notices: human-readable remarks made while loading (points dropped, faces fixed, ...).
    """

    vertices: np.ndarray
    faces: np.ndarray | None = None
    normals: np.ndarray | None = None
    source: str = ""
    notices: list[str] = field(default_factory=list)
    units: str = "input units"

    @property
    def kind(self) -> Literal["mesh", "points"]:
        """'mesh' when there are faces, else 'points'."""
        return "mesh" if self.faces is not None and len(self.faces) else "points"

    @property
    def is_mesh(self) -> bool:
        """Whether the geometry has faces."""
        return self.kind == "mesh"

    @property
    def bounds(self) -> np.ndarray:
        """(2, 3): the minimum and maximum corner."""
        return np.stack([self.vertices.min(axis=0), self.vertices.max(axis=0)])

    def trimesh(self):
        """The mesh as a trimesh.Trimesh (no processing, so indices stay as loaded)."""
        import trimesh  # deferred: trimesh takes about a second to import

        if not self.is_mesh:
            raise ValueError("a point cloud has no faces")
        return trimesh.Trimesh(self.vertices, self.faces, process=False)

    def transformed(self, norm: Normalization, inverse: bool = False) -> Geometry:
        """A copy mapped into the unit cube (or back with inverse=True); normals are unchanged by a
        similarity with positive scale."""
        f = norm.to_world if inverse else norm.to_unit
        return Geometry(
            f(self.vertices),
            None if self.faces is None else self.faces.copy(),
            None if self.normals is None else self.normals.copy(),
            self.source,
            list(self.notices),
            "normalised" if not inverse else self.units,
        )


@dataclass(frozen=True)
class Normalization:
    """x_unit = (x_world - center) * scale: one float64 similarity, kept with every model.

    The input's bounding box is centred at the origin and its longest side scaled to 2 * (1 - margin),
    so the shape sits inside [-1, 1]^3 with a margin on every side.
    """

    center: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: float = 1.0

    @staticmethod
    def fit(points: np.ndarray, margin: float = 0.1) -> Normalization:
        """The normalisation of (N, 3) points: their bounding box centred at the origin, its longest side
        scaled to 2 * (1 - margin)."""
        pts = np.asarray(points, dtype=np.float64)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        extent = float((hi - lo).max())
        scale = 2.0 * (1.0 - margin) / extent if extent > 0 else 1.0
        return Normalization(tuple(float(c) for c in (lo + hi) / 2.0), scale)

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N, 3) float64 normalised points."""
        return (np.asarray(x, dtype=np.float64) - np.asarray(self.center)) * self.scale

    def to_world(self, x: np.ndarray) -> np.ndarray:
        """(N, 3) normalised points -> (N, 3) float64 world points."""
        return np.asarray(x, dtype=np.float64) / self.scale + np.asarray(self.center)

    def to_dict(self) -> dict:
        return {"center": list(self.center), "scale": self.scale}

    @staticmethod
    def from_dict(d: dict) -> Normalization:
        c = d["center"]
        if len(c) != 3 or not all(np.isfinite(c)) or not np.isfinite(d["scale"]) or d["scale"] <= 0:
            raise ValueError("normalisation must have a finite 3-vector center and a positive scale")
        return Normalization(tuple(float(v) for v in c), float(d["scale"]))


@dataclass(frozen=True)
class LoadReport:
    """What a person wants to know about a file right after loading it."""

    path: str
    kind: str
    vertices: int
    faces: int
    watertight: bool | None
    has_normals: bool
    bounds_min: tuple[float, float, float]
    bounds_max: tuple[float, float, float]
    units: str
    notices: tuple[str, ...] = ()

    @property
    def diagonal(self) -> float:
        """Length of the bounding-box diagonal, in input units."""
        return float(np.linalg.norm(np.subtract(self.bounds_max, self.bounds_min)))

    def lines(self) -> list[str]:
        """The report as aligned 'name: value' lines for printing."""
        size = np.subtract(self.bounds_max, self.bounds_min)
        out = [f"file:        {self.path}", f"kind:        {self.kind}"]
        if self.kind == "mesh":
            out += [
                f"vertices:    {self.vertices}",
                f"faces:       {self.faces}",
                f"watertight:  {'yes' if self.watertight else 'no'}",
            ]
        else:
            out += [f"points:      {self.vertices}"]
        out += [
            f"normals:     {'yes' if self.has_normals else 'no'}",
            "bounds:      ["
            + ", ".join(f"{v:.6g}" for v in self.bounds_min)
            + "] .. ["
            + ", ".join(f"{v:.6g}" for v in self.bounds_max)
            + "]",
            "size:        " + " x ".join(f"{v:.6g}" for v in size) + f" ({self.units})",
        ]
        out += [f"notice:      {n}" for n in self.notices]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def report(geom: Geometry) -> LoadReport:
    """The load report of a geometry (watertightness is checked on the mesh's edges)."""
    watertight = None
    if geom.is_mesh:
        watertight = is_watertight(geom.faces)
    lo, hi = geom.bounds
    return LoadReport(
        geom.source,
        geom.kind,
        len(geom.vertices),
        0 if geom.faces is None else len(geom.faces),
        watertight,
        geom.normals is not None,
        tuple(map(float, lo)),
        tuple(map(float, hi)),
        geom.units,
        tuple(geom.notices),
    )


def is_watertight(faces: np.ndarray) -> bool:
    """True when every undirected edge of the (F, 3) faces is shared by exactly two faces and the
    orientations agree (each directed edge appears once)."""
    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        return False
    n = int(f.max()) + 1
    a = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    b = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    # edges as single integers: sorting one int64 column is some 40x faster than np.unique(axis=0)
    undirected = np.sort(np.minimum(a, b) * n + np.maximum(a, b))
    if len(undirected) % 2 or not (
        np.all(undirected[0::2] == undirected[1::2]) and np.all(undirected[1:-1:2] != undirected[2::2])
    ):
        return False
    directed = np.sort(a * n + b)
    return bool(np.all(directed[1:] != directed[:-1]))


def bbox_diagonal(points: np.ndarray) -> float:
    """Length of the axis-aligned bounding box's diagonal."""
    p = np.asarray(points, dtype=np.float64)
    return float(np.linalg.norm(p.max(axis=0) - p.min(axis=0)))
