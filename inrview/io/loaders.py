"""Read meshes and point clouds from files into Geometry.

Meshes: PLY (ascii, binary), OBJ, STL, OFF, GLB, GLTF (only GLB/GLTF go through trimesh), and segmentation
masks meshed by marching cubes (NIfTI .nii/.nii.gz, NRRD .nrrd/.nhdr: see io.masks). Point clouds: PLY
without faces (normals read when present), XYZ / XYZN / PTS / TXT / CSV columns, PCD, NPY, NPZ.

Every failure raises LoadError with the path and the problem; nothing from a parser escapes as another
exception type. The content decides the parser when it carries a signature (a PLY named .obj is read as
PLY, with a notice). Headers are checked against the file size before anything is allocated, point clouds
are read in chunks and subsampled to `max_points` (bounded memory), and what cannot make a surface (no
points, one point, collinear points, only degenerate faces) is refused; what can be repaired (NaN
coordinates, degenerate or duplicated faces) is, with a notice.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import LoadError
from .arrays import read_numpy
from .formats import GEOMETRY_FORMATS
from .geometry import Geometry
from .masks import MaskOptions, mask_format
from .obj import read_obj
from .pcd import read_pcd
from .ply import read_ply
from .scenes import read_scene
from .simple_meshes import read_off, read_stl
from .sniff import family, sniff
from .surface import sample_surface
from .text import read_text

#: Files larger than this are refused before parsing (a guard against exhausting memory).
MAX_FILE_BYTES = 4 * 1024**3
#: Point clouds with more points are subsampled uniformly at random while reading (with a notice).
DEFAULT_MAX_POINTS = 2_000_000
#: Fewer points than this cannot define a surface (normals need neighbourhoods).
MIN_CLOUD_POINTS = 10
#: Relative spread under which a direction counts as absent (flat or collinear input): coordinates stored
#: as float32 carry relative noise of about 1e-7, so a line written to a file is never exactly a line.
FLAT_TOLERANCE = 1e-5

_SNIFF_BYTES = 1 << 16


def load(
    path: str | os.PathLike,
    *,
    max_points: int | None = DEFAULT_MAX_POINTS,
    seed: int = 0,
    mask: MaskOptions | None = None,
) -> Geometry:
    """Load a mesh or point cloud (a segmentation mask is meshed, see io.masks; mask: label and smoothing).

    max_points: a point cloud with more points is subsampled uniformly at random while it is read (with a
    notice), so memory stays bounded; None reads every point. Meshes are never subsampled.
    Returns Geometry in the file's units; raises LoadError on any problem.
    """
    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    try:
        if not p.exists():
            raise LoadError(p, "file not found")
        if p.is_dir():
            raise LoadError(p, "is a folder, not a file")
        if not p.is_file():
            raise LoadError(p, "is not a regular file (a device, pipe or socket)")
        size = p.stat().st_size
        if size == 0:
            raise LoadError(p, "file is empty")
        if size > MAX_FILE_BYTES:
            raise LoadError(
                p, f"file is {size / 1024**3:.1f} GiB, larger than the {MAX_FILE_BYTES / 1024**3:.0f} GiB limit"
            )
        with open(p, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as e:
        raise LoadError(p, f"cannot read file ({e.strerror or e})") from None
    fmt, notices = _choose_format(p, ext, head, size)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            geom = _read(p, fmt, max_points, seed, mask)
    except LoadError:
        raise
    except MemoryError:
        raise LoadError(p, "not enough memory to read this file") from None
    except RecursionError:
        raise LoadError(p, f"unreadable {fmt.upper()} file (nested too deeply)") from None
    except (Exception, SystemExit) as e:  # parsers raise anything, some even SystemExit
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise LoadError(p, f"unreadable {fmt.upper()} file ({msg[:200]})") from None
    geom.source = str(p)
    geom.notices[:0] = notices
    return _validate(geom, p, max_points, seed)


def _choose_format(p: Path, ext: str, head: bytes, size: int) -> tuple[str, list[str]]:
    """The parser to use: the content's signature when it has one, else the extension."""
    if mask_format(p):
        return mask_format(p), []
    found = sniff(head, size)
    if found and found.startswith("image:"):
        kind = found.split(":", 1)[1]
        raise LoadError(p, f"is a {kind} image, not a mesh or point cloud (fit images with `inrview image fit`)")
    if found and found.startswith("other:"):
        raise LoadError(p, f"is a {found.split(':', 1)[1]}, not a mesh or point cloud")
    if ext not in GEOMETRY_FORMATS:
        if found is None:
            raise LoadError(
                p,
                f"unknown format '.{ext}' (supported: {', '.join(GEOMETRY_FORMATS)})"
                if ext
                else f"no file extension and the content is not a recognised format "
                f"(supported: {', '.join(GEOMETRY_FORMATS)})",
            )
        fmt = "xyz" if found == "text" else found
        return fmt, [
            f"the name ends in '.{ext}' but the content is {fmt.upper()}: read as {fmt.upper()}"
            if ext
            else f"no file extension; the content is {fmt.upper()}: read as {fmt.upper()}"
        ]
    if found is None or family(found) == family(ext) or (found == "glb" and ext == "gltf"):
        return ext, []
    if found == "text" and ext not in ("ply", "pcd", "npy", "npz", "glb"):
        return ext, []  # text content in a text mesh format (OBJ, OFF, STL): let that parser judge it
    fmt = "xyz" if found == "text" else found
    return fmt, [f"the name ends in '.{ext}' but the content is {fmt.upper()}: read as {fmt.upper()}"]


def _read(p: Path, fmt: str, max_points: int | None, seed: int, mask: MaskOptions | None = None) -> Geometry:
    if fmt in ("nifti", "nrrd"):
        from .masks import read_mask

        v, f, notes = read_mask(p, mask)
        return Geometry(v, f, None, notices=notes)
    if fmt == "ply":
        v, f, n, notes = read_ply(p, max_points, seed)
        return Geometry(v, f, n, notices=notes)
    if fmt == "pcd":
        v, n, notes = read_pcd(p, max_points, seed)
        return Geometry(v, None, n, notices=notes)
    if fmt in ("xyz", "xyzn", "pts", "txt", "csv"):
        v, n, notes = read_text(p, fmt, max_points, seed)
        return Geometry(v, None, n, notices=notes)
    if fmt in ("npy", "npz"):
        v, f, n, notes = read_numpy(p, fmt, max_points, seed)
        return Geometry(v, f, n, notices=notes)
    if fmt == "obj":
        v, f, n, notes = read_obj(p)
        return Geometry(v, f, n, notices=notes)
    if fmt in ("stl", "off"):
        v, f, notes = (read_stl if fmt == "stl" else read_off)(p)
        return Geometry(v, f, None, notices=notes)
    return read_scene(p, fmt)


def _validate(g: Geometry, p: Path, max_points: int | None, seed: int) -> Geometry:
    v = np.asarray(g.vertices)
    if v.dtype.kind not in "fiu" or v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
        raise LoadError(
            p, "contains no points" if v.size == 0 else f"expected N x 3 coordinates, got {v.dtype} {v.shape}"
        )
    v = v.astype(np.float64, copy=False)
    normals = None if g.normals is None else np.asarray(g.normals, dtype=np.float64)
    faces = None if g.faces is None or len(g.faces) == 0 else np.asarray(g.faces)
    if faces is not None:
        if faces.dtype.kind not in "iu":
            raise LoadError(p, f"face indices must be integers, got {faces.dtype}")
        if faces.ndim != 2 or faces.shape[1] != 3:
            raise LoadError(p, f"faces must be triangles, got shape {faces.shape}")
        faces = faces.astype(np.int64, copy=False)
        if faces.min() < 0 or faces.max() >= len(v):
            raise LoadError(
                p, f"face indices out of range (vertex count {len(v)}, index range {faces.min()}..{faces.max()})"
            )
    finite = np.isfinite(v).all(axis=1)
    if not finite.all():
        dropped = int((~finite).sum())
        if dropped == len(v):
            raise LoadError(p, "all coordinates are NaN or infinite")
        g.notices.append(f"dropped {dropped} point(s) with NaN or infinite coordinates")
        remap = np.cumsum(finite) - 1
        if faces is not None:
            keep = finite[faces].all(axis=1)
            if not keep.all():
                g.notices.append(f"dropped {int((~keep).sum())} face(s) touching those points")
            faces = remap[faces[keep]]
            if len(faces) == 0:
                raise LoadError(p, "every face touches a NaN or infinite coordinate")
        v = v[finite]
        normals = None if normals is None else normals[finite]
    if normals is not None:
        normals = _clean_normals(g, normals, v)
    if faces is not None:
        v, faces, normals = _merge_duplicate_vertices(v, faces, normals)
        faces = _clean_faces(g, p, v, faces)
    if faces is None and max_points is not None and len(v) > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(len(v), max_points, replace=False))
        g.notices.append(f"subsampled {len(v)} points to {max_points}")
        v = v[idx]
        normals = None if normals is None else normals[idx]
    _check_extent(g, p, v, faces)
    g.vertices, g.faces, g.normals = v, faces, normals
    return g


def _clean_normals(g: Geometry, normals: np.ndarray, v: np.ndarray) -> np.ndarray | None:
    if normals.shape != v.shape:
        return None
    n = np.linalg.norm(normals, axis=1)
    good = np.isfinite(n) & (n > 1e-12)
    if good.mean() < 0.5:
        g.notices.append("normals in the file are mostly zero or invalid: ignored")
        return None
    return np.where(good[:, None], normals / np.where(good, n, 1)[:, None], 0.0)


def _clean_faces(g: Geometry, p: Path, v: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Drop faces that add no surface: repeated corners, zero area, or the same triangle twice (in either
    orientation: a double-sided copy cancels the winding number)."""
    repeated = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2])
    area2 = np.linalg.norm(np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]]), axis=1)
    degenerate = repeated | ~(area2 > 0)
    if degenerate.all():
        raise LoadError(p, f"every face has zero area ({len(faces)} degenerate faces): there is no surface")
    if degenerate.any():
        g.notices.append(f"dropped {int(degenerate.sum())} degenerate face(s) (zero area or a repeated corner)")
        faces = faces[~degenerate]
    _, first = np.unique(np.sort(faces, axis=1), axis=0, return_index=True)
    if len(first) < len(faces):
        g.notices.append(f"dropped {len(faces) - len(first)} duplicated face(s)")
        faces = faces[np.sort(first)]
    return faces


def _check_extent(g: Geometry, p: Path, v: np.ndarray, faces) -> None:
    if len(v) == 1:
        raise LoadError(p, "contains a single point: no surface can be made from it")
    lo, hi = v.min(axis=0), v.max(axis=0)
    with np.errstate(over="ignore", invalid="ignore"):
        extent = hi - lo
    if not np.all(np.isfinite(extent)):
        raise LoadError(p, "coordinates are too large (the shape's size overflows)")
    if extent.max() <= 0:
        raise LoadError(p, f"all {len(v)} points coincide: the shape has no extent")
    reach = float(np.abs(v).max())
    if extent.max() < 1e-12 * reach:
        raise LoadError(
            p,
            f"the shape ({extent.max():.3g} across) is too small for its distance from the origin "
            f"({reach:.3g}): its coordinates have no precision left",
        )
    if faces is None and len(v) < MIN_CLOUD_POINTS:
        raise LoadError(p, f"only {len(v)} points: a point cloud needs at least {MIN_CLOUD_POINTS} to define a surface")
    sample = v if len(v) <= 200_000 else v[np.random.default_rng(0).choice(len(v), 200_000, replace=False)]
    u = (sample - lo) / extent.max()  # in [0, 1]: no overflow near the float limits
    s = np.linalg.svd(u - u.mean(axis=0), compute_uv=False)
    if s[1] <= FLAT_TOLERANCE * s[0]:
        raise LoadError(p, f"all {len(v)} points lie on one line: no surface can be made from them")
    if s[2] <= FLAT_TOLERANCE * s[0]:
        g.notices.append("all points lie in one plane: the shape is flat (fitted as a thin sheet)")


def _merge_duplicate_vertices(v, faces, normals):
    """OBJ and GLB files split vertices at texture seams; geometry needs them joined by position."""
    uniq, first, inverse = np.unique(v, axis=0, return_index=True, return_inverse=True)
    if len(uniq) == len(v):
        return v, faces, normals
    inverse = inverse.reshape(-1)
    order = np.argsort(first)  # keep the file's vertex order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return uniq[order], rank[inverse][faces], None if normals is None else normals[first[order]]


def as_point_cloud(geom: Geometry, n: int = 100_000, seed: int = 0) -> Geometry:
    """A mesh's surface as an oriented point cloud (area-uniform samples with face normals)."""
    if not geom.is_mesh:
        return geom
    pts, nrm = sample_surface(geom.vertices, geom.faces, n, np.random.default_rng(seed))
    return Geometry(pts, None, nrm, geom.source, list(geom.notices) + [f"sampled {n} surface points"], geom.units)
