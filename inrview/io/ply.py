"""A PLY reader (ascii, binary little and big endian) that checks the header against the file before
reading, so a truncated download or a header promising a billion vertices is a clear LoadError, never a
huge allocation or a crash. Point clouds are read in chunks through a reservoir (bounded memory).

Reads the 'vertex' element (x, y, z and nx, ny, nz when present) and the 'face' element (the first list
property; polygons are fanned into triangles). Other elements are skipped.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..errors import LoadError
from .chunks import Reservoir, fan_triangles
from .limits import check_memory
from .ply_header import FORMATS, MAX_HEADER_BYTES, Element, read_header

CHUNK_ROWS = 1 << 20


def read_ply(p: Path, max_points: int | None, seed: int):
    """Returns (vertices, faces or None, normals or None, notices)."""
    size = p.stat().st_size
    with open(p, "rb") as fh:
        head = fh.read(MAX_HEADER_BYTES + 16)
    h = read_header(p, head)
    vert = h.element("vertex")
    if vert is None or vert.count == 0:
        raise LoadError(p, "PLY file has no vertices")
    names = [q.name for q in vert.props]
    missing = [c for c in "xyz" if c not in names]
    if missing:
        raise LoadError(p, f"unreadable PLY file: its vertex element has no {', '.join(missing)} property")
    face = h.element("face")
    faces_wanted = face is not None and face.count > 0
    if faces_wanted and not any(q.count_dtype for q in face.props):
        raise LoadError(p, "PLY face element has no list of vertex indices")
    body = size - h.length
    order = FORMATS[h.fmt]
    need = sum(e.count * (e.min_row_bytes() if order else 2 * len(e.props)) for e in h.elements)
    if need > body:
        counts = ", ".join(f"{e.count} {e.name}" for e in h.elements if e.count)
        raise LoadError(
            p,
            f"PLY file is truncated or its header is wrong: the header promises {counts} "
            f"(at least {need} bytes of data) but only {body} bytes follow",
        )
    limit = None if faces_wanted else max_points
    rows = vert.count if limit is None else min(vert.count, limit + CHUNK_ROWS)
    check_memory(p, rows * 96 + (face.count * 72 if faces_wanted else 0))
    with open(p, "rb") as fh:
        fh.seek(h.length)
        reader = _Binary(fh, p, order) if order else _Ascii(fh, p)
        verts = normals = faces = None
        notices: list[str] = []
        total = vert.count
        for el in h.elements:
            if el.name == "vertex":
                cols = ["x", "y", "z"] + (["nx", "ny", "nz"] if all(c in names for c in ("nx", "ny", "nz")) else [])
                data = reader.scalars(el, cols, limit, seed)
                verts = data[:, :3]
                normals = data[:, 3:6] if data.shape[1] == 6 else None
                if limit is not None and total > limit:
                    notices.append(f"subsampled {total} points to {len(verts)} (read in chunks, bounded memory)")
            elif el.name == "face" and faces_wanted:
                faces, dropped = reader.polygons(el)
                if dropped:
                    notices.append(f"dropped {dropped} face(s) with fewer than 3 vertices")
            elif verts is not None and (faces is not None or not faces_wanted):
                break  # nothing after this is needed
            else:
                reader.skip(el)
    return verts, faces, normals, notices


class _Binary:
    def __init__(self, fh, p: Path, order: str):
        self.fh, self.p, self.order = fh, p, order

    def _read(self, nbytes: int) -> bytes:
        data = self.fh.read(nbytes)
        if len(data) < nbytes:
            raise LoadError(self.p, "PLY file is truncated (the data ends before the header's counts are met)")
        return data

    def scalars(self, el: Element, cols, limit, seed) -> np.ndarray:
        if el.has_list:
            rows = self._list_rows(el)
            return np.stack([np.asarray(rows[c], np.float64) for c in cols], axis=1)
        dt = el.row_dtype(self.order)
        res = Reservoir(limit, seed, total=el.count)
        left = el.count
        while left:
            n = min(left, CHUNK_ROWS)
            arr = np.frombuffer(self._read(n * dt.itemsize), dtype=dt)
            res.add(np.stack([arr[c].astype(np.float64) for c in cols], axis=1))
            left -= n
        return res.result(len(cols))

    def polygons(self, el: Element):
        lists = [q for q in el.props if q.count_dtype]
        first = lists[0]
        if len(lists) == 1:
            # fast path: every polygon a triangle -> fixed-size rows, read in one go
            tri = np.dtype(_tri_fields(el, self.order))
            pos = self.fh.tell()
            nbytes = el.count * tri.itemsize
            data = self.fh.read(nbytes)
            if len(data) == nbytes:
                arr = np.frombuffer(data, dtype=tri)
                if np.all(arr[first.name + "__n"] == 3):
                    return arr[first.name].astype(np.int64), 0
            self.fh.seek(pos)
        rows = self._list_rows(el)
        counts = rows[first.name + "__n"]
        flat = rows[first.name]
        return fan_triangles(counts, flat)

    def skip(self, el: Element):
        if el.has_list:
            self._list_rows(el)
        else:
            self._read(el.count * el.row_dtype(self.order).itemsize)

    def _list_rows(self, el: Element) -> dict:
        """Rows with list properties, walked one at a time (the general, slower path)."""
        out = {}
        fmt = {
            q.name: (
                struct.Struct(self.order + np.dtype(q.count_dtype).char) if q.count_dtype else None,
                struct.Struct(self.order + np.dtype(q.dtype).char),
            )
            for q in el.props
        }
        start = self.fh.tell()
        buf = self.fh.read()  # bounded by the file size, which was checked against memory
        off = 0
        vals = {q.name: [] for q in el.props}
        counts = {q.name: [] for q in el.props if q.count_dtype}
        try:
            for _ in range(el.count):
                for q in el.props:
                    cs, vs = fmt[q.name]
                    if cs is None:
                        vals[q.name].append(vs.unpack_from(buf, off)[0])
                        off += vs.size
                    else:
                        k = cs.unpack_from(buf, off)[0]
                        off += cs.size
                        if k < 0:
                            raise LoadError(self.p, f"PLY {el.name} row has a negative list length {k}")
                        counts[q.name].append(k)
                        vals[q.name].extend(struct.unpack_from(self.order + f"{k}{vs.format[-1]}", buf, off))
                        off += k * vs.size
        except struct.error:
            raise LoadError(self.p, f"PLY file is truncated inside the {el.name} element") from None
        self.fh.seek(start + off)
        for q in el.props:
            out[q.name] = np.asarray(vals[q.name])
            if q.count_dtype:
                out[q.name + "__n"] = np.asarray(counts[q.name], dtype=np.int64)
        return out


def _tri_fields(el: Element, order: str):
    out = []
    for q in el.props:
        if q.count_dtype:
            out.append((q.name + "__n", order + q.count_dtype))
            out.append((q.name, order + q.dtype, (3,)))
        else:
            out.append((q.name, order + q.dtype))
    return out


class _Ascii:
    def __init__(self, fh, p: Path):
        self.fh, self.p = fh, p

    def _lines(self, n: int) -> list[str]:
        """The next n non-blank lines."""
        out: list[str] = []
        if n == 0:
            return out
        for raw in self.fh:
            s = raw.strip()
            if s:
                out.append(s.decode("latin-1"))
                if len(out) == n:
                    return out
        raise LoadError(self.p, f"PLY file is truncated (the data ends {n - len(out)} rows early)")

    def scalars(self, el: Element, cols, limit, seed) -> np.ndarray:
        if el.has_list:
            raise LoadError(self.p, f"ascii PLY {el.name} element with list properties is not supported")
        where = [next(i for i, q in enumerate(el.props) if q.name == c) for c in cols]
        res = Reservoir(limit, seed, total=el.count)
        left = el.count
        while left:
            n = min(left, CHUNK_ROWS // 4)
            lines = self._lines(n)
            try:
                arr = np.loadtxt(lines, dtype=np.float64, ndmin=2)
            except ValueError as e:
                raise LoadError(
                    self.p, f"PLY {el.name} data is not numeric or has ragged rows ({str(e).splitlines()[0][:120]})"
                ) from None
            if arr.shape[1] != len(el.props):
                raise LoadError(
                    self.p,
                    f"PLY {el.name} rows have {arr.shape[1]} values, the header declares {len(el.props)} properties",
                )
            res.add(arr[:, where])
            left -= n
        return res.result(len(cols))

    def polygons(self, el: Element):
        lines = self._lines(el.count)
        first = next(i for i, q in enumerate(el.props) if q.count_dtype)
        if first == 0 and len(el.props) == 1:
            try:
                arr = np.loadtxt(lines, dtype=np.int64, ndmin=2)
                if arr.shape[1] == 4 and np.all(arr[:, 0] == 3):
                    return arr[:, 1:], 0
            except ValueError:
                pass
        counts, flat = [], []
        for no, ln in enumerate(lines):
            parts = ln.split()
            try:
                vals = [int(float(x)) for x in parts]
            except ValueError:
                raise LoadError(self.p, f"PLY {el.name} row {no + 1} is not numeric ({ln[:60]!r})") from None
            pos = 0
            for i, q in enumerate(el.props):
                if pos >= len(vals):
                    raise LoadError(self.p, f"PLY {el.name} row {no + 1} is shorter than the header declares")
                if q.count_dtype:
                    k = vals[pos]
                    if k < 0 or pos + 1 + k > len(vals):
                        raise LoadError(self.p, f"PLY {el.name} row {no + 1}: list length {k} does not match the row")
                    if i == first:
                        counts.append(k)
                        flat.extend(vals[pos + 1 : pos + 1 + k])
                    pos += 1 + k
                else:
                    pos += 1
        return fan_triangles(np.asarray(counts, dtype=np.int64), np.asarray(flat, dtype=np.int64))

    def skip(self, el: Element):
        self._lines(el.count)
