"""Point lists as text columns (XYZ, XYZN, PTS, TXT, CSV), read in blocks with numpy's C parser and
subsampled through a reservoir, so a 10-million-line file costs bounded memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import LoadError
from .chunks import Reservoir

BLOCK_BYTES = 8 << 20
#: A "line" longer than this is not a row of coordinates.
MAX_LINE_BYTES = 1 << 20
COMMENTS = ("#", "//")


def read_text(p: Path, ext: str, max_points: int | None, seed: int):
    """Returns (points (N, 3), normals or None, notices)."""
    delimiter = "," if ext == "csv" else None
    res = Reservoir(max_points, seed)
    width = None
    lineno = 0  # lines consumed before the current block
    started = False
    with open(p, "rb") as fh:
        pending = b""
        while True:
            block = fh.read(BLOCK_BYTES)
            data = pending + block
            if not data:
                break
            if block:
                cut = data.rfind(b"\n")
                if cut < 0:
                    if len(data) > MAX_LINE_BYTES:
                        raise LoadError(
                            p,
                            f"line {lineno + 1} is longer than {MAX_LINE_BYTES // 1024} KiB: not a list of coordinates",
                        )
                    pending = data
                    continue
                pending, data = data[cut + 1 :], data[: cut + 1]
            else:
                pending = b""
            lines = data.decode("utf-8", errors="replace").split("\n")
            if data.endswith(b"\n"):
                lines.pop()
            if any(len(ln) > MAX_LINE_BYTES for ln in lines):
                raise LoadError(
                    p,
                    f"a line near line {lineno + 1} is longer than {MAX_LINE_BYTES // 1024} KiB: "
                    "not a list of coordinates",
                )
            skip = 0
            if not started:
                skip, started, delimiter = _preamble(lines, ext, delimiter)
            arr = _parse(p, lines, skip, lineno, delimiter)
            lineno += len(lines)
            if arr.size == 0:
                continue
            if width is None:
                width = arr.shape[1]
                if width < 3:
                    raise LoadError(p, f"expected at least 3 columns (x y z), found {width}")
            elif arr.shape[1] != width:
                raise LoadError(p, f"near line {lineno}: {arr.shape[1]} columns where earlier lines have {width}")
            res.add(arr[:, :6])
            if not block:
                break
    if width is None:
        raise LoadError(p, "contains no points (no numeric rows)")
    arr = res.result(min(width, 6))
    notices = [f"subsampled {res.seen} points to {len(arr)} (read in chunks, bounded memory)"] if res.subsampled else []
    return arr[:, :3], _columns_as_normals(arr, ext), notices


def _preamble(lines: list[str], ext: str, delimiter):
    """How many leading lines are a header (a column-name line, a PTS point count), whether data was
    reached, and the delimiter (commas or semicolons are recognised in any text format)."""
    header = 0
    for i, ln in enumerate(lines):
        s = ln.strip()
        if not s or s.startswith(COMMENTS):
            continue
        if delimiter is None:
            for d in (None, ",", ";"):
                parts = [x for x in s.split(d)]
                if len(parts) >= 3 and _numeric(parts):
                    delimiter = d
                    break
        parts = s.split(delimiter)
        if not _numeric(parts):
            if header:
                return i, True, delimiter  # the error will name this line
            header = i + 1  # a column-name header line
            continue
        if ext == "pts" and len(parts) == 1 and not header:
            header = i + 1  # PTS: the first line is the point count
            continue
        return i, True, delimiter
    return len(lines), False, delimiter


def _numeric(parts) -> bool:
    try:
        [float(x) for x in parts]
        return True
    except ValueError:
        return False


def _parse(p: Path, lines: list[str], skip: int, lineno: int, delimiter) -> np.ndarray:
    body = lines[skip:]
    if not any(ln.strip() and not ln.lstrip().startswith(COMMENTS) for ln in body):
        return np.empty((0, 0))
    try:
        return np.loadtxt(body, dtype=np.float64, delimiter=delimiter, comments=COMMENTS, ndmin=2)
    except ValueError:
        pass
    # find the first bad line, to name it
    width = None
    for i, ln in enumerate(body):
        s = ln.strip()
        if not s or s.startswith(COMMENTS):
            continue
        parts = s.split(delimiter)
        where = lineno + skip + i + 1
        if not _numeric(parts):
            raise LoadError(p, f"line {where}: not numeric ({s[:60]!r})")
        if width is None:
            width = len(parts)
        elif len(parts) != width:
            raise LoadError(p, f"line {where}: {len(parts)} columns where earlier lines have {width}")
    raise LoadError(p, f"cannot parse the lines after line {lineno + skip}")


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
