"""Entries of the on-disk sample cache that cannot poison a run.

An entry is an uncompressed .npz of named arrays plus a 'checksum' (blake2b of every array's name, dtype,
shape and bytes). It is written whole to a temporary file in the same folder, flushed, fsynced and renamed
over the entry, so a process killed at any moment leaves no entry or a whole one; an entry that is
truncated, unreadable or whose checksum does not match (a disk fault, an entry from another tool) is
reported in one line on the 'inrview' logger and drawn again.

Two processes that want the same missing entry (two runs, or the ranks of one run) take an exclusive lock
on its KEY.lock file (fcntl.flock; released by the kernel when a holder dies): the first one draws and
writes it, the second waits and then reads it instead of drawing it too.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: entries stay atomic and checked; concurrent fills may both draw
    fcntl = None

log = logging.getLogger("inrview")


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """blake2b hex digest of the arrays' names, dtypes, shapes and bytes (in name order)."""
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def write_entry(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays and their checksum to path atomically (OSError when the folder cannot be written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, checksum=np.array(checksum(arrays)), **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def read_entry(path: Path) -> tuple[dict | None, str | None]:
    """(arrays, None) for a whole entry; (None, why) for a damaged one; (None, None) when there is none."""
    if not path.exists():
        return None, None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # noqa: BLE001 - OSError, ValueError, EOFError, BadZipFile: all mean damaged
        return None, f"unreadable ({type(e).__name__}: {str(e).splitlines()[0][:60] if str(e) else 'truncated'})"
    stored = arrays.pop("checksum", None)
    if stored is None or stored.shape != () or str(stored) != checksum(arrays):
        return None, "damaged (checksum does not match)"
    return arrays, None


@contextlib.contextmanager
def entry_lock(path: Path):
    """Hold the exclusive lock of an entry (KEY.lock beside it) for the block; no lock where none can be
    taken (no fcntl, a read-only folder)."""
    fh = None
    if fcntl is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(path.with_suffix(".lock"), "a+b")  # noqa: SIM115 - held for the block
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except OSError:
            if fh is not None:
                fh.close()
            fh = None
    try:
        yield
    finally:
        if fh is not None:
            fh.close()  # closing releases the lock


def fetch(path: Path, draw: Callable[[], object], from_arrays: Callable, save: Callable) -> tuple[object, bool]:
    """The value stored at path, else draw() stored there: (value, hit). Under the entry's lock, so that of
    two processes asking at once only one draws. A damaged entry is reported in one line and drawn again.

    from_arrays: an entry's arrays -> the value (None for arrays that are whole but unusable); save(path,
    value) writes it."""
    arrays, _ = read_entry(path)
    value = from_arrays(arrays) if arrays is not None else None
    if value is not None:
        return value, True
    with entry_lock(path):
        arrays, why = read_entry(path)  # another process may have written it while this one waited
        value = from_arrays(arrays) if arrays is not None else None
        if value is not None:
            return value, True
        if why is not None or arrays is not None:
            log.warning("notice: sample cache entry %s was %s; drawing it again", path, why or "unusable")
        value = draw()
        save(path, value)
    return value, False


def usage(folder: Path) -> tuple[int, int]:
    """(entries, bytes) of the cache under folder (its .npz files, subfolders included)."""
    n = size = 0
    for p in folder.rglob("*.npz") if folder.is_dir() else ():
        with contextlib.suppress(OSError):
            size += p.stat().st_size
            n += 1
    return n, size


def clear(folder: Path) -> tuple[int, int]:
    """Delete the cache's entries, locks and leftover temporary files under folder; (entries, bytes) freed."""
    n, size = usage(folder)
    for pattern in ("*.npz", "*.lock", ".*.tmp", "*.tmp"):
        for p in folder.rglob(pattern) if folder.is_dir() else ():
            with contextlib.suppress(OSError):
                p.unlink()
    return n, size
