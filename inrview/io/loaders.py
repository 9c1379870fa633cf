"""Read meshes and point clouds from files into Geometry.

Meshes: PLY (ascii, binary), OBJ, STL, OFF, GLB, GLTF. Point clouds: PLY without faces (normals read when
present), XYZ / XYZN / PTS / TXT / CSV columns, PCD, NPY, NPZ. Every failure raises LoadError with the path
and the problem; nothing from a parser escapes as another exception type.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import LoadError
from .geometry import Geometry

MESH_FORMATS = ("ply", "obj", "stl", "off", "glb", "gltf")
POINT_FORMATS = ("ply", "xyz", "xyzn", "pts", "txt", "csv", "pcd", "npy", "npz")
SUPPORTED = tuple(sorted(set(MESH_FORMATS) | set(POINT_FORMATS)))

#: Files larger than this are refused before parsing (a guard against exhausting memory).
MAX_FILE_BYTES = 4 * 1024**3


def load(path: str | os.PathLike, *, max_points: int | None = None, seed: int = 0) -> Geometry:
    """Load a mesh or point cloud.

    max_points: a point cloud with more points is subsampled uniformly at random (with a notice).
    Returns Geometry in the file's units; raises LoadError on any problem.
    """
    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    if not p.exists():
        raise LoadError(p, "file not found")
    if p.is_dir():
        raise LoadError(p, "is a folder, not a file")
    if ext not in SUPPORTED:
        raise LoadError(p, f"unknown format '.{ext}' (supported: {', '.join(SUPPORTED)})")
    try:
        size = p.stat().st_size
    except OSError as e:
        raise LoadError(p, f"cannot read file ({e.strerror or e})") from None
    if size == 0:
        raise LoadError(p, "file is empty")
    if size > MAX_FILE_BYTES:
        raise LoadError(p, f"file is {size / 1024**3:.1f} GiB, larger than the {MAX_FILE_BYTES / 1024**3:.0f} GiB limit")
    try:
        if ext in ("xyz", "xyzn", "pts", "txt", "csv"):
            geom = _load_text(p, ext)
        elif ext == "pcd":
            geom = _load_pcd(p)
        elif ext in ("npy", "npz"):
            geom = _load_numpy(p, ext)
        else:
            geom = _load_trimesh(p, ext)
    except LoadError:
        raise
    except MemoryError:
        raise LoadError(p, "not enough memory to read this file") from None
    except (Exception, SystemExit) as e:  # parsers raise anything, some even SystemExit
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise LoadError(p, f"unreadable {ext.upper()} file ({msg[:200]})") from None
    geom.source = str(p)
    return _validate(geom, p, max_points, seed)


def _validate(g: Geometry, p: Path, max_points: int | None, seed: int) -> Geometry:
    v = np.asarray(g.vertices)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
        raise LoadError(p, "contains no points" if v.size == 0 else f"expected N x 3 coordinates, got shape {v.shape}")
    v = v.astype(np.float64, copy=False)
    normals = None if g.normals is None else np.asarray(g.normals, dtype=np.float64)
    faces = None if g.faces is None or len(g.faces) == 0 else np.asarray(g.faces)
    if faces is not None:
        if faces.ndim != 2 or faces.shape[1] != 3:
            raise LoadError(p, f"faces must be triangles, got shape {faces.shape}")
        faces = faces.astype(np.int64, copy=False)
        if faces.min() < 0 or faces.max() >= len(v):
            raise LoadError(p, f"face indices out of range (vertex count {len(v)}, index range {faces.min()}..{faces.max()})")
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
        v = v[finite]
        normals = None if normals is None else normals[finite]
    if normals is not None:
        if normals.shape != v.shape:
            normals = None
        else:
            n = np.linalg.norm(normals, axis=1)
            good = np.isfinite(n) & (n > 1e-12)
            if good.mean() < 0.5:
                g.notices.append("normals in the file are mostly zero or invalid: ignored")
                normals = None
            else:
                normals = np.where(good[:, None], normals / np.where(good, n, 1)[:, None], 0.0)
    if faces is not None:
        v, faces, normals = _merge_duplicate_vertices(v, faces, normals)
        area2 = np.linalg.norm(np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]]), axis=1)
        if not (area2 > 0).any():
            raise LoadError(p, "every face has zero area")
        if len(faces) == 0:
            faces = None
    if faces is None and max_points is not None and len(v) > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(len(v), max_points, replace=False))
        g.notices.append(f"subsampled {len(v)} points to {max_points} for training")
        v = v[idx]
        normals = None if normals is None else normals[idx]
    extent = v.max(axis=0) - v.min(axis=0)
    if not np.all(np.isfinite(extent)) or extent.max() <= 0:
        raise LoadError(p, "all points coincide: the shape has no extent")
    g.vertices, g.faces, g.normals = v, faces, normals
    return g


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


def _load_trimesh(p: Path, ext: str) -> Geometry:
    import trimesh

    with open(p, "rb") as fh:
        loaded = trimesh.load(fh, file_type=ext, process=False)
    if isinstance(loaded, trimesh.Scene):
        geoms = [g for g in loaded.dump() if isinstance(g, (trimesh.Trimesh, trimesh.PointCloud))]
        meshes = [g for g in geoms if isinstance(g, trimesh.Trimesh) and len(g.faces)]
        if meshes:
            loaded = trimesh.util.concatenate(meshes)
        elif geoms:
            loaded = geoms[0]
        else:
            raise LoadError(p, "the scene contains no mesh or points")
    if isinstance(loaded, trimesh.Trimesh):
        if len(loaded.faces) == 0:
            return Geometry(np.asarray(loaded.vertices, dtype=np.float64), None, _ply_normals(loaded))
        normals = None
        if "vertex_normals" in loaded._cache.cache or _file_has_normals(loaded):
            normals = np.asarray(loaded.vertex_normals, dtype=np.float64)
        return Geometry(np.asarray(loaded.vertices, dtype=np.float64), np.asarray(loaded.faces), normals)
    if isinstance(loaded, trimesh.PointCloud):
        return Geometry(np.asarray(loaded.vertices, dtype=np.float64), None, _ply_normals(loaded))
    raise LoadError(p, f"no mesh or point cloud found (got {type(loaded).__name__})")


def _file_has_normals(mesh) -> bool:
    raw = mesh.metadata.get("_ply_raw") if hasattr(mesh, "metadata") else None
    if raw is not None:
        names = raw.get("vertex", {}).get("data", np.empty(0)).dtype.names or ()
        return all(n in names for n in ("nx", "ny", "nz"))
    return False


def _ply_normals(obj) -> np.ndarray | None:
    raw = getattr(obj, "metadata", {}).get("_ply_raw")
    if raw is None:
        return None
    data = raw.get("vertex", {}).get("data")
    if data is None or data.dtype.names is None or not all(n in data.dtype.names for n in ("nx", "ny", "nz")):
        return None
    return np.stack([np.asarray(data[n], dtype=np.float64).reshape(-1) for n in ("nx", "ny", "nz")], axis=1)


def _load_text(p: Path, ext: str) -> Geometry:
    delimiter = "," if ext == "csv" else None
    rows = []
    width = None
    with open(p, "r", encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            s = line.strip()
            if not s or s[0] in "#/;" or (lineno == 1 and not _is_numeric_row(s, delimiter)):
                continue
            parts = s.split(delimiter)
            if lineno <= 2 and len(parts) == 1 and ext == "pts":
                continue  # PTS files start with a point count
            try:
                vals = [float(x) for x in parts]
            except ValueError:
                raise LoadError(p, f"line {lineno}: not numeric ({s[:60]!r})") from None
            if width is None:
                width = len(vals)
                if width < 3:
                    raise LoadError(p, f"line {lineno}: expected at least 3 columns (x y z), found {width}")
            if len(vals) != width:
                raise LoadError(p, f"line {lineno}: {len(vals)} columns where earlier lines have {width}")
            rows.append(vals)
    if not rows:
        raise LoadError(p, "contains no points")
    arr = np.asarray(rows, dtype=np.float64)
    return Geometry(arr[:, :3], None, _columns_as_normals(arr, ext))


def _is_numeric_row(s: str, delimiter) -> bool:
    try:
        [float(x) for x in s.split(delimiter)]
        return True
    except ValueError:
        return False


def _columns_as_normals(arr: np.ndarray, ext: str) -> np.ndarray | None:
    """Columns 4-6 are normals when the file says so (.xyzn) or when they are unit vectors."""
    if arr.shape[1] < 6:
        return None
    n = arr[:, 3:6]
    if ext == "xyzn":
        return n
    lengths = np.linalg.norm(n, axis=1)
    finite = np.isfinite(lengths)
    if finite.any() and np.mean(np.abs(lengths[finite] - 1.0) < 0.05) > 0.99:
        return n
    return None


def _load_pcd(p: Path) -> Geometry:
    import open3d as o3d

    with open(p, "rb") as fh:
        head = fh.read(4096)
    if b"POINTS" not in head and b"WIDTH" not in head:
        raise LoadError(p, "not a PCD file (no PCD header)")
    pc = o3d.io.read_point_cloud(str(p), format="pcd")
    pts = np.asarray(pc.points, dtype=np.float64)
    if len(pts) == 0:
        raise LoadError(p, "contains no points (or the PCD data is truncated)")
    normals = np.asarray(pc.normals, dtype=np.float64) if pc.has_normals() else None
    return Geometry(pts, None, normals)


def _load_numpy(p: Path, ext: str) -> Geometry:
    if ext == "npy":
        arr = np.load(p, allow_pickle=False)
        return _array_geometry(p, arr, None, None)
    with np.load(p, allow_pickle=False) as z:
        keys = list(z.keys())
        pick = next((k for k in ("points", "vertices", "xyz", "pts", "v") if k in keys), None)
        if pick is None:
            if len(keys) == 1:
                pick = keys[0]
            else:
                raise LoadError(p, f"no 'points' or 'vertices' array (arrays: {', '.join(keys) or 'none'})")
        nkey = next((k for k in ("normals", "normal", "n") if k in keys), None)
        fkey = next((k for k in ("faces", "triangles", "f") if k in keys), None)
        return _array_geometry(p, z[pick], None if nkey is None else z[nkey], None if fkey is None else z[fkey])


def _array_geometry(p, arr, normals, faces) -> Geometry:
    arr = np.asarray(arr)
    if arr.dtype.kind not in "fiu" or arr.ndim != 2 or arr.shape[1] not in (3, 6):
        raise LoadError(p, f"expected an N x 3 (xyz) or N x 6 (xyz + normals) numeric array, got {arr.dtype} {arr.shape}")
    if arr.shape[1] == 6 and normals is None:
        normals = arr[:, 3:6]
    if faces is not None:
        faces = np.asarray(faces)
        if faces.dtype.kind not in "iu":
            raise LoadError(p, f"faces must be integers, got {faces.dtype}")
    return Geometry(arr[:, :3].astype(np.float64), faces, normals)


def as_point_cloud(geom: Geometry, n: int = 100_000, seed: int = 0) -> Geometry:
    """A mesh's surface as an oriented point cloud (area-uniform samples with face normals)."""
    if not geom.is_mesh:
        return geom
    from ..sampling.surface import sample_surface

    pts, nrm = sample_surface(geom.vertices, geom.faces, n, np.random.default_rng(seed))
    return Geometry(pts, None, nrm, geom.source, list(geom.notices) + [f"sampled {n} surface points"], geom.units)
