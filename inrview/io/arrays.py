"""NumPy files: .npy (N x 3 or N x 6) memory-mapped and read in chunks; .npz with 'points'/'vertices'
(+ 'normals', 'faces') arrays, each checked from its header before it is decompressed. Never unpickles."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import LoadError
from .chunks import Reservoir
from .limits import check_memory

CHUNK_ROWS = 1 << 20
POINT_KEYS = ("points", "vertices", "xyz", "pts", "v")
NORMAL_KEYS = ("normals", "normal", "n")
FACE_KEYS = ("faces", "triangles", "f")


def read_numpy(p: Path, ext: str, max_points: int | None, seed: int):
    """Returns (points, faces or None, normals or None, notices)."""
    if ext == "npy":
        shape, dtype = _npy_header(p)
        if dtype.hasobject:
            raise LoadError(p, "the array holds Python objects (pickles are never loaded)")
        try:
            arr = np.load(p, mmap_mode="r", allow_pickle=False)
        except ValueError as e:
            raise LoadError(p, f"not a readable .npy array ({str(e).splitlines()[0][:150]})") from None
        _check_points(p, arr)
        return _rows(p, arr, None, max_points, seed)
    try:
        zf = zipfile.ZipFile(p)
    except zipfile.BadZipFile as e:
        raise LoadError(p, f"not a readable .npz archive ({e})") from None
    with zf:
        names = [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
        pick = next((k for k in POINT_KEYS if k in names), names[0] if len(names) == 1 else None)
        if pick is None:
            raise LoadError(p, f"no 'points' or 'vertices' array (arrays: {', '.join(names) or 'none'})")
        nkey = next((k for k in NORMAL_KEYS if k in names), None)
        fkey = next((k for k in FACE_KEYS if k in names), None)
        pts = _member(p, zf, pick)
        _check_points(p, pts)
        normals = None if nkey is None else _member(p, zf, nkey)
        faces = None
        if fkey is not None:
            faces = _member(p, zf, fkey)
            if faces.dtype.kind not in "iu":
                raise LoadError(p, f"faces must be integers, got {faces.dtype}")
    if faces is not None and len(faces):
        v, _, n, notes = _rows(p, pts, normals, None, seed)
        return v, faces, n, notes
    return _rows(p, pts, normals, max_points, seed)


def _npy_header(p: Path):
    """Shape and dtype from an .npy header, checked against the file's size."""
    size = p.stat().st_size
    with open(p, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            raise LoadError(p, "not an NPY file (no NUMPY signature)")
        fh.seek(0)
        try:
            version = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(fh, max_header_size=10000)
        except (ValueError, OSError, EOFError) as e:
            raise LoadError(p, f"NPY header is corrupt ({str(e).splitlines()[0][:120]})") from None
        start = fh.tell()
    if not dtype.hasobject:
        need = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
        if need > size - start:
            raise LoadError(
                p,
                f"NPY file is truncated: its header says {dtype} {tuple(shape)} ({need} bytes of data), "
                f"{size - start} bytes follow",
            )
    return shape, dtype


def _member(p: Path, zf: zipfile.ZipFile, key: str) -> np.ndarray:
    """One array of an npz, its declared size checked against free memory before it is inflated."""
    try:
        with zf.open(key + ".npy") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(fh, max_header_size=10000)
        if dtype.hasobject:
            raise LoadError(p, f"array {key!r} holds Python objects (pickles are never loaded)")
        check_memory(p, int(np.prod(shape, dtype=np.float64)) * dtype.itemsize * 2)
        with zf.open(key + ".npy") as fh:
            return np.lib.format.read_array(fh, allow_pickle=False)
    except LoadError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise LoadError(p, f"array {key!r} is unreadable ({str(e).splitlines()[0][:150]})") from None


def _check_points(p: Path, arr: np.ndarray) -> None:
    if arr.dtype.kind not in "fiu" or arr.ndim != 2 or arr.shape[1] not in (3, 6):
        raise LoadError(
            p, f"expected an N x 3 (xyz) or N x 6 (xyz + normals) numeric array, got {arr.dtype} {arr.shape}"
        )


def _rows(p: Path, arr, normals, max_points, seed):
    """Copy rows out (subsampled in chunks when a limit is set) as float64."""
    res = Reservoir(max_points, seed, total=len(arr))
    width = arr.shape[1]
    if normals is not None:
        normals = np.asarray(normals)
        if normals.shape != (len(arr), 3) or normals.dtype.kind not in "fiu":
            normals = None
    for s in range(0, len(arr), CHUNK_ROWS):
        chunk = np.asarray(arr[s : s + CHUNK_ROWS], dtype=np.float64)
        if normals is not None and width == 3:
            chunk = np.hstack([chunk, np.asarray(normals[s : s + CHUNK_ROWS], dtype=np.float64)])
        res.add(chunk)
    out = res.result(6 if normals is not None or width == 6 else 3)
    notes = [f"subsampled {res.seen} points to {len(out)} (read in chunks, bounded memory)"] if res.subsampled else []
    return out[:, :3], None, (out[:, 3:6] if out.shape[1] == 6 else None), notes
