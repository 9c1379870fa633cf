"""A PCD reader (ascii, binary, binary_compressed) in Python and numpy.

Open3D's C++ reader trusts the header; a hostile or truncated file can make it read out of bounds. This
reader checks the header against the file size before reading anything, and decompresses LZF itself with
bounds checks, so a bad file is always a LoadError.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..errors import LoadError
from .chunks import Reservoir
from .limits import check_memory

MAX_HEADER_BYTES = 1 << 16
CHUNK_ROWS = 1 << 18
_KEYS = ("VERSION", "FIELDS", "SIZE", "TYPE", "COUNT", "WIDTH", "HEIGHT", "VIEWPOINT", "POINTS", "DATA")


def read_pcd(p: Path, max_points: int | None, seed: int):
    """Returns (points (N, 3), normals or None, notices)."""
    size = p.stat().st_size
    with open(p, "rb") as fh:
        head = fh.read(MAX_HEADER_BYTES)
        h, data_start = _header(p, head)
        cols = _columns(p, h)
        names = [c[0] for c in cols]
        npts = _points(p, h)
        if npts == 0:
            raise LoadError(p, "PCD file contains no points (POINTS 0)")
        # fields by position: PCL pads with repeated '_' fields, so names need not be unique
        dt = np.dtype([(f"f{i}", d, (c,)) if c > 1 else (f"f{i}", d) for i, (_, d, c) in enumerate(cols)])
        want = ["x", "y", "z"] + (
            ["normal_x", "normal_y", "normal_z"] if all(f"normal_{a}" in names for a in "xyz") else []
        )
        keys = [f"f{names.index(w)}" for w in want]
        mode = h["DATA"][0].lower()
        body = size - data_start
        limit = max_points
        rows_in_memory = npts if limit is None else min(npts, limit + CHUNK_ROWS)
        check_memory(p, rows_in_memory * (48 + dt.itemsize))
        res = Reservoir(limit, seed, total=npts)
        fh.seek(data_start)
        if mode == "ascii":
            _ascii(p, fh, npts, cols, want, res)
        elif mode == "binary":
            _binary(p, fh, npts, dt, keys, body, res)
        elif mode == "binary_compressed":
            _binary_compressed(p, fh, npts, cols, dt, keys, body, res)
        else:
            raise LoadError(p, f"PCD DATA {h['DATA'][0]!r} is not ascii, binary or binary_compressed")
    arr = res.result(len(want))
    notices = []
    if res.subsampled:
        notices.append(f"subsampled {res.seen} points to {len(arr)} (read in chunks, bounded memory)")
    return arr[:, :3], (arr[:, 3:6] if arr.shape[1] == 6 else None), notices


def _columns(p: Path, h: dict) -> list:
    """The header's fields as (name, numpy dtype, count) tuples, checked for supported types and a
    single-valued x, y and z."""
    fields, sizes, types, counts = h["FIELDS"], h["SIZE"], h["TYPE"], h["COUNT"]
    if not (len(fields) == len(sizes) == len(types) == len(counts)):
        raise LoadError(
            p,
            f"PCD header: FIELDS, SIZE, TYPE and COUNT have different lengths "
            f"({len(fields)}, {len(sizes)}, {len(types)}, {len(counts)})",
        )
    cols = []  # (name, numpy dtype, count)
    for name, s, t, c in zip(fields, sizes, types, counts):
        try:
            s, c = int(s), int(c)
        except ValueError:
            raise LoadError(p, f"PCD header: SIZE/COUNT of field {name!r} is not a number") from None
        kind = {"F": "f", "I": "i", "U": "u"}.get(t.upper())
        if kind is None or s not in (1, 2, 4, 8) or (kind == "f" and s not in (4, 8)) or not 1 <= c <= 1 << 16:
            raise LoadError(p, f"PCD header: field {name!r} has an unsupported type {t}{s} x {c}")
        cols.append((name, np.dtype(f"<{kind}{s}"), c))
    names = [c[0] for c in cols]
    for axis in "xyz":
        if axis not in names or dict((n, c) for n, _, c in cols)[axis] != 1:
            raise LoadError(p, f"PCD file has no single-valued '{axis}' field")
    return cols


def _binary(p: Path, fh, npts: int, dt: np.dtype, keys: list, body: int, res: Reservoir) -> None:
    """Binary rows of dtype dt, read in chunks; the columns named by keys go into the reservoir."""
    if npts * dt.itemsize > body:
        raise LoadError(
            p, f"PCD file is truncated: {npts} points need {npts * dt.itemsize} bytes, {body} follow the header"
        )
    left = npts
    while left:
        n = min(left, CHUNK_ROWS)
        arr = np.frombuffer(fh.read(n * dt.itemsize), dtype=dt)
        res.add(np.stack([arr[k].astype(np.float64) for k in keys], axis=1))
        left -= n


def _binary_compressed(p: Path, fh, npts: int, cols: list, dt: np.dtype, keys: list, body: int, res: Reservoir) -> None:
    """One LZF block holding each field as a column; the columns named by keys go into the reservoir."""
    raw = fh.read(8)
    if len(raw) < 8:
        raise LoadError(p, "PCD file is truncated (no compressed block sizes)")
    csize, usize = struct.unpack("<II", raw)
    if usize != npts * dt.itemsize:
        raise LoadError(
            p, f"PCD compressed block says {usize} bytes uncompressed, {npts} points need {npts * dt.itemsize}"
        )
    if csize > body - 8:
        raise LoadError(p, f"PCD file is truncated: compressed block of {csize} bytes, {body - 8} follow")
    check_memory(p, 3 * usize)
    flat = lzf_decompress(fh.read(csize), usize, p)
    # binary_compressed stores each field as a column (all x, then all y, ...)
    out, off = {}, 0
    for i, (_, d, c) in enumerate(cols):
        out[f"f{i}"] = np.frombuffer(flat, dtype=d, count=npts * c, offset=off).reshape(npts, c)[:, 0]
        off += npts * d.itemsize * c
    res.add(np.stack([out[k].astype(np.float64) for k in keys], axis=1))


def _header(p: Path, head: bytes):
    h: dict = {}
    pos = 0
    while True:
        nl = head.find(b"\n", pos)
        if nl < 0:
            if len(head) >= MAX_HEADER_BYTES:
                raise LoadError(p, f"PCD header is longer than {MAX_HEADER_BYTES // 1024} KiB")
            raise LoadError(p, "PCD header has no DATA line (the file is truncated or not a PCD file)")
        line = head[pos:nl].decode("latin-1").strip()
        pos = nl + 1
        if not line or line.startswith("#"):
            continue
        words = line.split()
        key = words[0].upper()
        if key not in _KEYS:
            raise LoadError(p, f"PCD header: unknown line {line[:40]!r}")
        h[key] = words[1:]
        if key == "DATA":
            break
    for key in ("FIELDS", "DATA"):
        if not h.get(key):
            raise LoadError(p, f"PCD header has no {key} line")
    n = len(h["FIELDS"])
    h.setdefault("SIZE", ["4"] * n)
    h.setdefault("TYPE", ["F"] * n)
    h.setdefault("COUNT", ["1"] * n)
    return h, pos


def _points(p: Path, h: dict) -> int:
    def num(key):
        try:
            v = int(h[key][0])
        except (KeyError, IndexError, ValueError):
            return None
        if v < 0:
            raise LoadError(p, f"PCD header: {key} is negative")
        return v

    points, width, height = num("POINTS"), num("WIDTH"), num("HEIGHT")
    if points is None and width is not None:
        points = width * (height or 1)
    if points is None:
        raise LoadError(p, "PCD header has neither POINTS nor WIDTH")
    if width is not None and height is not None and width * height != points:
        raise LoadError(p, f"PCD header: WIDTH x HEIGHT = {width * height} but POINTS = {points}")
    return points


def _ascii(p: Path, fh, npts: int, cols, want, res: Reservoir) -> None:
    flat_names = []
    for n, _, c in cols:
        flat_names += [n] * c
    where = [flat_names.index(w) for w in want]
    left, lineno = npts, 0
    while left:
        n = min(left, CHUNK_ROWS)
        lines = []
        for raw in fh:
            s = raw.strip()
            if s:
                lines.append(s.decode("latin-1"))
                if len(lines) == n:
                    break
        if len(lines) < n:
            raise LoadError(
                p, f"PCD file is truncated: the header says {npts} points, the file has {npts - left + len(lines)}"
            )
        try:
            arr = np.loadtxt(lines, dtype=np.float64, ndmin=2)
        except ValueError as e:
            raise LoadError(
                p,
                f"PCD data near point {lineno + 1} is not numeric or has ragged rows ({str(e).splitlines()[0][:100]})",
            ) from None
        if arr.shape[1] != len(flat_names):
            raise LoadError(p, f"PCD rows have {arr.shape[1]} values, the header declares {len(flat_names)}")
        res.add(arr[:, where])
        left -= n
        lineno += n


def lzf_decompress(data: bytes, size: int, p: Path) -> bytes:
    """LZF (liblzf) decompression with every read and back-reference checked."""
    out = bytearray(size)
    ip = op = 0
    n = len(data)
    try:
        while ip < n:
            ctrl = data[ip]
            ip += 1
            if ctrl < 32:
                ln = ctrl + 1
                if ip + ln > n or op + ln > size:
                    raise ValueError("literal run past the end")
                out[op : op + ln] = data[ip : ip + ln]
                ip += ln
                op += ln
            else:
                ln = ctrl >> 5
                if ln == 7:
                    ln += data[ip]
                    ip += 1
                ref = op - ((ctrl & 0x1F) << 8) - 1 - data[ip]
                ip += 1
                ln += 2
                if ref < 0 or op + ln > size:
                    raise ValueError("back reference out of range")
                if ref + ln <= op:
                    out[op : op + ln] = out[ref : ref + ln]
                else:  # overlapping copy repeats the pattern byte by byte
                    for k in range(ln):
                        out[op + k] = out[ref + k]
                op += ln
    except (IndexError, ValueError) as e:
        raise LoadError(p, f"PCD compressed data is corrupt ({e})") from None
    if op != size:
        raise LoadError(p, f"PCD compressed data is corrupt (decompressed {op} of {size} bytes)")
    return bytes(out)
