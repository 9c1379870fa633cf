"""A Wavefront OBJ reader: vertices, faces (polygons fanned into triangles, v/vt/vn corners, negative
relative indices) and per-vertex normals from 'vn' when the faces name them. Materials, texture
coordinates, lines and groups are ignored (so an 'mtllib' never opens another file). Every problem names
the line."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import LoadError
from .limits import check_memory


def read_obj(p: Path):
    """Returns (vertices, faces or None, normals or None, notices)."""
    check_memory(p, p.stat().st_size * 16)
    text = p.read_bytes().decode("latin-1")
    verts, vnorms, tris, tri_normals, dropped = _parse_lines(p, text)
    notices = [f"dropped {dropped} face(s) with fewer than 3 corners"] if dropped else []
    if text and not text.endswith(("\n", "\r")):
        notices.append("the last line has no line break: the file may be truncated")
    if not verts:
        raise LoadError(p, "OBJ file has no vertices ('v' lines)" + (" but has faces" if tris else ""))
    v = np.asarray(verts, dtype=np.float64)
    if not tris:
        return v, None, None, notices
    f = np.asarray(tris, dtype=np.int64)
    if f.min() < 0 or f.max() >= len(v):
        bad = int(f.max() if f.max() >= len(v) else f.min())
        raise LoadError(p, f"a face refers to vertex {bad + 1 if bad >= 0 else bad}, the file has {len(v)} vertices")
    return v, f, _vertex_normals(len(v), f, vnorms, tri_normals), notices


def _parse_lines(p: Path, text: str):
    """The 'v', 'vn' and 'f' lines of the text as lists: vertices, normals, triangles (0-based vertex
    indices), the triangles' normal indices (-1 where a corner names none) and the count of dropped faces."""
    verts: list = []
    vnorms: list = []
    tris: list = []  # (a, b, c) 0-based vertex indices
    tri_normals: list = []  # (na, nb, nc) 0-based normal indices or -1
    dropped = 0
    for no, line in enumerate(text.splitlines(), 1):
        if not line or line[0] not in "vf":
            continue
        parts = line.split()
        if not parts:
            continue
        key = parts[0]
        if key == "v":
            if len(parts) < 4:
                raise LoadError(p, f"line {no}: a vertex needs 3 coordinates ({line.strip()[:60]!r})")
            try:
                verts.append((float(parts[1]), float(parts[2]), float(parts[3])))
            except ValueError:
                raise LoadError(p, f"line {no}: vertex coordinates are not numbers ({line.strip()[:60]!r})") from None
        elif key == "vn":
            try:
                vnorms.append((float(parts[1]), float(parts[2]), float(parts[3])))
            except (ValueError, IndexError):
                vnorms.append((np.nan, np.nan, np.nan))  # a bad normal costs only that normal
        elif key == "f":
            corners = parts[1:]
            if len(corners) < 3:
                dropped += 1
                continue
            vi, ni = _face_corners(p, no, corners, len(verts), len(vnorms))
            for j in range(1, len(vi) - 1):
                tris.append((vi[0], vi[j], vi[j + 1]))
                tri_normals.append((ni[0], ni[j], ni[j + 1]))
    return verts, vnorms, tris, tri_normals, dropped


def _face_corners(p: Path, no: int, corners: list, nv: int, nn: int) -> tuple[list, list]:
    """0-based vertex and normal indices (-1: no normal) of a face's 'v', 'v/vt' or 'v/vt/vn' corners, with
    negative indices counted back from the nv vertices and nn normals read so far."""
    vi, ni = [], []
    for c in corners:
        fields = c.split("/")
        try:
            a = int(fields[0])
            n = int(fields[2]) if len(fields) > 2 and fields[2] else 0
        except ValueError:
            raise LoadError(p, f"line {no}: face corner {c[:30]!r} is not an index") from None
        if a == 0:
            raise LoadError(p, f"line {no}: face index 0 is invalid (OBJ indices count from 1)")
        vi.append(a - 1 if a > 0 else nv + a)
        ni.append(n - 1 if n > 0 else (nn + n if n < 0 else -1))
    return vi, ni


def _vertex_normals(nverts: int, f: np.ndarray, vnorms: list, tri_normals: list) -> np.ndarray | None:
    """(nverts, 3) float64 vertex normals from the faces' 'vn' corners (NaN where none), or None when no
    face names a normal."""
    fn = np.asarray(tri_normals, dtype=np.int64)
    if not (vnorms and (fn >= 0).any()):
        return None
    vn = np.asarray(vnorms, dtype=np.float64)
    ok = (fn >= 0) & (fn < len(vn))
    normals = np.full((nverts, 3), np.nan)
    # corners listed later overwrite earlier ones; any corner's normal is a fair vertex normal
    normals[f[ok]] = vn[fn[ok]]
    return normals
