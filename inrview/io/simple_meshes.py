"""STL (binary and ascii) and OFF readers: small formats, read with numpy after checking every count
against the file, so truncated or lying files are refused with the reason."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import LoadError
from .chunks import fan_triangles
from .limits import check_memory

STL_RECORD = np.dtype([("normal", "<f4", (3,)), ("v", "<f4", (3, 3)), ("attr", "<u2")])
_FLOAT = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|infinity))"


def read_stl(p: Path):
    """Returns (vertices (3M, 3), faces (M, 3), notices)."""
    size = p.stat().st_size
    with open(p, "rb") as fh:
        head = fh.read(1024)
    n = int.from_bytes(head[80:84], "little") if len(head) >= 84 else None
    if n is not None and 84 + 50 * n == size:
        return _binary_stl(p, n, [])
    text_like = b"\x00" not in head and head.lstrip().lower().startswith(b"solid")
    if text_like:
        return _ascii_stl(p, size)
    if n is None:
        raise LoadError(p, f"too short to be an STL file ({size} bytes; a binary STL has an 84-byte header)")
    if n == 0:
        raise LoadError(p, "binary STL header says the file holds 0 triangles")
    if 84 + 50 * n > size:
        have = (size - 84) // 50
        raise LoadError(
            p,
            f"binary STL is truncated: the header says {n} triangles ({84 + 50 * n} bytes), "
            f"the file has {size} bytes ({have} whole triangles)",
        )
    extra = size - 84 - 50 * n
    return _binary_stl(p, n, [f"ignored {extra} bytes after the last of the {n} triangles"])


def _binary_stl(p: Path, n: int, notices):
    if n == 0:
        raise LoadError(p, "binary STL holds 0 triangles")
    check_memory(p, n * 50 + n * 9 * 8 * 3)
    rec = np.fromfile(p, dtype=STL_RECORD, count=n, offset=84)
    if len(rec) != n:
        raise LoadError(p, f"binary STL is truncated ({len(rec)} of {n} triangles)")
    v = rec["v"].reshape(-1, 3).astype(np.float64)
    return v, np.arange(3 * n, dtype=np.int64).reshape(n, 3), notices


def _ascii_stl(p: Path, size: int):
    check_memory(p, size * 12)
    text = p.read_bytes().decode("latin-1")
    notices = []
    found = re.findall(r"\bvertex\s+(\S+)\s+(\S+)\s+(\S+)", text)
    if not found:
        raise LoadError(p, "ascii STL file has no 'vertex' lines")
    try:
        v = np.array(found, dtype=np.float64)
    except ValueError:
        bad = next(t for t in found if not all(re.fullmatch(_FLOAT, x, re.I) for x in t))
        raise LoadError(p, f"ascii STL vertex {' '.join(bad)[:60]!r} is not three numbers") from None
    if len(v) % 3:
        raise LoadError(p, f"ascii STL is truncated or malformed: {len(v)} vertices is not a whole number of triangles")
    if not re.search(r"\bendsolid\b", text[-4096:]):
        last = text.rstrip().rsplit("\n", 1)[-1].strip()
        if last != "endfacet":
            raise LoadError(p, "ascii STL is truncated (it ends inside a facet, without 'endsolid')")
        notices.append("ascii STL has no 'endsolid' line (it may be truncated)")
    m = len(v) // 3
    return v, np.arange(3 * m, dtype=np.int64).reshape(m, 3), notices


def _off_header(p: Path, lines: list[str]) -> tuple[int, int, int]:
    """(vertex count, face count, index of the first data line) from an OFF file's header lines."""
    first = lines[0].split()
    kw = first[0]
    m = re.fullmatch(r"(ST)?(C)?(N)?(4)?(n)?OFF", kw)
    if not m:
        raise LoadError(p, f"not an OFF file (it starts with {kw[:20]!r}, not 'OFF')")
    if m.group(4) or m.group(5):
        raise LoadError(p, f"{kw} files (not 3D) are not supported")
    rest = first[1:]
    if rest and rest[0].upper() == "BINARY":
        raise LoadError(p, "binary OFF files are not supported (save it as ascii OFF, PLY or OBJ)")
    pos = 1
    if len(rest) < 2:
        if len(lines) < 2:
            raise LoadError(p, "OFF file is truncated (no vertex and face counts)")
        rest = lines[1].split()
        pos = 2
    try:
        nv, nf = int(rest[0]), int(rest[1])
    except (ValueError, IndexError):
        raise LoadError(p, f"OFF counts line {' '.join(rest)[:40]!r} is not 'vertices faces edges'") from None
    if nv <= 0 or nf < 0:
        raise LoadError(p, f"OFF header says {nv} vertices and {nf} faces")
    if nv + nf > len(lines) - pos:
        raise LoadError(
            p,
            f"OFF file is truncated: the header says {nv} vertices and {nf} faces, "
            f"the file has {len(lines) - pos} data lines",
        )
    return nv, nf, pos


def _off_faces(p: Path, face_lines: list[str]) -> tuple[np.ndarray, int]:
    """Triangles (fans of the polygons) of OFF face lines, and how many had fewer than 3 vertices."""
    counts, flat = [], []
    for ln in face_lines:
        parts = ln.split()
        try:
            k = int(parts[0])
            idx = [int(x) for x in parts[1 : 1 + k]]
        except ValueError:
            raise LoadError(p, f"OFF face line {ln[:60]!r} is not 'count index...'") from None
        if k < 0 or len(idx) < k:
            raise LoadError(p, f"OFF face line {ln[:60]!r} has fewer indices than its count")
        counts.append(k)
        flat.extend(idx)
    return fan_triangles(np.asarray(counts, dtype=np.int64), np.asarray(flat, dtype=np.int64))


def read_off(p: Path):
    """Returns (vertices, faces, notices)."""
    check_memory(p, p.stat().st_size * 12)
    text = p.read_bytes().decode("latin-1")
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise LoadError(p, "OFF file has no content")
    nv, nf, pos = _off_header(p, lines)
    vlines = lines[pos : pos + nv]
    try:
        v = np.array([ln.split()[:3] for ln in vlines], dtype=np.float64)
    except ValueError:
        raise LoadError(p, "OFF vertex lines must start with three numbers") from None
    if v.ndim != 2 or v.shape[1] != 3:
        raise LoadError(p, "OFF vertex lines must start with three numbers")
    faces, counts_bad = _off_faces(p, lines[pos + nv : pos + nv + nf])
    notices = [f"dropped {counts_bad} face(s) with fewer than 3 vertices"] if counts_bad else []
    return v, (faces if len(faces) else None), notices
