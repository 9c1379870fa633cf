"""Write meshes and point clouds; every write goes to a temporary file that is renamed into place, so a
crash or kill leaves either the old file or the new one, whole."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import InrviewError

MESH_EXPORT_FORMATS = ("ply", "obj", "stl", "glb", "off")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path in the target's folder; on success it replaces `path` atomically."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise InrviewError(f"{path}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=folder)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_mesh(path: str | os.PathLike, vertices: np.ndarray, faces: np.ndarray,
              normals: np.ndarray | None = None) -> Path:
    """Write a triangle mesh; the format follows the extension (PLY binary, OBJ, STL, GLB, OFF)."""
    import trimesh

    path = Path(path)
    ext = path.suffix.lower().lstrip(".")
    if ext not in MESH_EXPORT_FORMATS:
        raise InrviewError(f"{path}: cannot write '.{ext}' meshes (choose one of {', '.join(MESH_EXPORT_FORMATS)})")
    mesh = trimesh.Trimesh(np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64),
                           vertex_normals=normals, process=False)
    with atomic_path(path) as tmp:
        data = mesh.export(file_type=ext)
        with open(tmp, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
    return path


def save_points(path: str | os.PathLike, points: np.ndarray, normals: np.ndarray | None = None) -> Path:
    """Write a point cloud as PLY (binary) or XYZ/XYZN text."""
    path = Path(path)
    ext = path.suffix.lower().lstrip(".")
    pts = np.asarray(points, dtype=np.float64)
    with atomic_path(path) as tmp:
        if ext in ("xyz", "xyzn", "txt"):
            arr = pts if normals is None else np.hstack([pts, normals])
            np.savetxt(tmp, arr, fmt="%.9g")
        elif ext == "ply":
            import trimesh

            pc = trimesh.PointCloud(pts)
            data = pc.export(file_type="ply")
            if normals is not None:
                data = _ply_with_normals(pts, np.asarray(normals, dtype=np.float64))
            with open(tmp, "wb") as fh:
                fh.write(data)
        elif ext == "npy":
            with open(tmp, "wb") as fh:
                np.save(fh, pts if normals is None else np.hstack([pts, normals]))
        else:
            raise InrviewError(f"{path}: cannot write '.{ext}' point clouds (choose ply, xyz, xyzn or npy)")
    return path


def _ply_with_normals(pts: np.ndarray, nrm: np.ndarray) -> bytes:
    head = ("ply\nformat binary_little_endian 1.0\n"
            f"element vertex {len(pts)}\n"
            "property float x\nproperty float y\nproperty float z\n"
            "property float nx\nproperty float ny\nproperty float nz\nend_header\n").encode()
    return head + np.hstack([pts, nrm]).astype("<f4").tobytes()
