"""Keeping the resident size flat over long sessions (glibc's allocator; a no-op elsewhere).

glibc gives every thread that allocates its own heap arena, and keeps freed memory inside them. The app has
many allocating threads (the worker, torch's, VTK's, the OpenGL rasteriser's), and each live preview and new
sample pool allocates and frees tens of megabytes, so without care the resident size creeps up although
nothing leaks. Two remedies: fewer arenas (set before the threads start) and handing free memory back to the
system now and then (malloc_trim walks every arena).
"""

from __future__ import annotations

import sys

_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        _LIBC = False
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                lib = ctypes.CDLL("libc.so.6")
                _ = lib.malloc_trim, lib.mallopt  # glibc only (musl has neither): AttributeError elsewhere
                _LIBC = lib
            except (OSError, AttributeError):
                pass
    return _LIBC


def limit_arenas(n: int = 4) -> bool:
    """At most n malloc arenas for threads started from now on (M_ARENA_MAX); INRVIEW_MALLOC_ARENAS
    overrides n (0 leaves glibc's default)."""
    import os

    n = int(os.environ.get("INRVIEW_MALLOC_ARENAS", n))
    if n <= 0:
        return False
    lib = _libc()
    return bool(lib and lib.mallopt(-8, int(n)))


def release_free_memory() -> None:
    """Return freed heap memory to the system (ctypes releases the GIL during the call)."""
    lib = _libc()
    if lib:
        lib.malloc_trim(0)
