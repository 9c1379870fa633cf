"""The zero set of an unsigned field on a slice: where its open surface crosses the slice's plane.

An unsigned distance has no sign change, so a slice's zero set cannot be traced as a contour of its values
(the contour of a small level is a double line around it); the extracted open surface, cut by the plane,
gives it as one line.
"""

from __future__ import annotations

import numpy as np


def plane_section(vertices: np.ndarray, faces: np.ndarray, axis: int, offset: float) -> np.ndarray:
    """(K, 2, 3) segments where the triangles (V, 3) / (F, 3) cross the plane {x[axis] = offset} (a
    triangle with one corner on each side gives one segment; triangles lying in the plane give none)."""
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    if len(f) == 0:
        return np.zeros((0, 2, 3))
    d = v[:, axis] - offset
    side = d[f] > 0  # (F, 3)
    cut = side.any(axis=1) & ~side.all(axis=1)
    f, side = f[cut], side[cut]
    # the corner alone on its side, and the two others after it in the face's order
    lone = np.where(side.sum(axis=1) == 1, np.argmax(side, axis=1), np.argmin(side, axis=1))
    rows = np.arange(len(f))
    a, b, c = f[rows, lone], f[rows, (lone + 1) % 3], f[rows, (lone + 2) % 3]

    def cross(p, q):
        t = (d[p] / (d[p] - d[q]))[:, None]
        return v[p] + t * (v[q] - v[p])

    return np.stack([cross(a, b), cross(a, c)], axis=1)
