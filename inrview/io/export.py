"""Write meshes and point clouds; every write goes to a temporary file that is renamed into place, so a
crash or kill leaves either the old file or the new one, whole."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

import numpy as np

from ..errors import InrviewError
from .formats import MESH_EXPORT_FORMATS


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, durable: bool = True):
    """Yield a temporary path in the target's folder; on success it replaces `path` atomically.

    The caller writes the whole file to the temporary path; it is flushed to disk (durable: fsync, which
    also survives a power cut; the rename alone already survives a killed process), given the permissions
    the target had (or the ones a new file would get), and renamed over the target, and the folder entry is
    flushed too. Killed at any moment, the target is either the old file or the new one, whole; an
    exception inside the block removes the temporary file and leaves the target untouched. Temporary files
    left by killed writers (whose process is gone) are removed by the next successful write.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InrviewError(f"{path}: folder {folder} does not exist")
    if path.is_dir():
        raise InrviewError(f"{path}: is a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp" + path.suffix, dir=folder)
    except OSError as e:
        raise InrviewError(f"{path}: cannot write in {folder} ({e.strerror or e})") from None
    os.close(fd)
    try:
        yield Path(tmp)
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_folder(folder)
    _remove_stale_temporaries(folder, path.name)


def _mode_for(path: Path) -> int:
    """The target's current permissions, or what a newly created file gets under the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_stale_temporaries(folder: Path, name: str) -> None:
    """Delete '.NAME.PID.*.tmp*' files whose writer process no longer exists."""
    prefix = f".{name}."
    try:
        entries = [e for e in os.listdir(folder) if e.startswith(prefix) and ".tmp" in e[len(prefix) :]]
    except OSError:
        return
    for entry in entries:
        pid = entry[len(prefix) :].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(folder / entry)


def _alive(pid: int) -> bool:
    if os.name == "nt":
        return True  # no cheap check: leave it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def save_mesh(
    path: str | os.PathLike,
    vertices: np.ndarray,
    faces: np.ndarray,
    normals: np.ndarray | None = None,
    properties: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write a triangle mesh, (V, 3) vertices and (F, 3) faces (optional (V, 3) normals, and per-vertex float
    properties {name: (V,)} kept by PLY only); the format follows the extension (PLY binary, OBJ, STL, GLB,
    OFF). Atomic but not fsync'ed: a mesh is cheap to extract again,
    and the fsync of a 5 MB file took 0.65 s on a plain cloud disk."""
    path = Path(path)
    ext = path.suffix.lower().lstrip(".")
    if ext not in MESH_EXPORT_FORMATS:
        raise InrviewError(f"{path}: cannot write '.{ext}' meshes (choose one of {', '.join(MESH_EXPORT_FORMATS)})")
    with atomic_path(path, durable=False) as tmp:
        if ext == "ply":
            data = ply_mesh_bytes(vertices, faces, normals, properties)
        else:
            import trimesh  # deferred: 1 s to import: only for the formats written through it

            mesh = trimesh.Trimesh(
                np.asarray(vertices, dtype=np.float64),
                np.asarray(faces, dtype=np.int64),
                vertex_normals=normals,
                process=False,
            )
            data = mesh.export(file_type=ext)
        with open(tmp, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
    return path


def ply_mesh_bytes(
    vertices: np.ndarray,
    faces: np.ndarray,
    normals: np.ndarray | None = None,
    properties: dict[str, np.ndarray] | None = None,
) -> bytes:
    """A binary little-endian PLY of a triangle mesh: (V, 3) vertices, optional (V, 3) normals and per-vertex
    float properties {name: (V,)} as float32,
    (F, 3) faces as uchar-counted int32 lists. Written straight from the arrays (trimesh's exporter took
    about 1 s for a 260k-face mesh; this takes a few milliseconds)."""
    v = np.asarray(vertices, dtype="<f4").reshape(-1, 3)
    f = np.asarray(faces, dtype="<i4").reshape(-1, 3)
    cols = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if normals is not None:
        cols += [("nx", "<f4"), ("ny", "<f4"), ("nz", "<f4")]
    cols += [(name, "<f4") for name in properties or {}]
    vert = np.empty(len(v), dtype=cols)
    for name, values in (properties or {}).items():
        vert[name] = np.asarray(values, dtype="<f4").reshape(-1)
    vert["x"], vert["y"], vert["z"] = v.T
    if normals is not None:
        n = np.asarray(normals, dtype="<f4").reshape(-1, 3)
        vert["nx"], vert["ny"], vert["nz"] = n.T
    face = np.empty(len(f), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    face["n"], face["i"] = 3, f
    props = "".join(f"property float {name}\n" for name, _ in cols)
    head = (
        f"ply\nformat binary_little_endian 1.0\ncomment written by inrview\nelement vertex {len(v)}\n{props}"
        f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    return head.encode("ascii") + vert.tobytes() + face.tobytes()


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
            import trimesh  # deferred: trimesh takes about a second to import

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
    head = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(pts)}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property float nx\nproperty float ny\nproperty float nz\nend_header\n"
    ).encode()
    return head + np.hstack([pts, nrm]).astype("<f4").tobytes()
