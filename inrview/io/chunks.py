"""What the readers share: bounded-memory reading of long point lists (chunks go through a reservoir that
keeps a uniform random subset of at most `max_points` rows, in file order, whatever the file's length), and
the triangulation of polygons."""

from __future__ import annotations

import numpy as np


class Reservoir:
    """Keep a uniform random sample (without replacement) of at most `limit` rows of the arrays fed to it.

    Each row gets a random key; the `limit` smallest keys seen so far are kept (so memory is bounded by
    limit + one chunk). When the total row count is known in advance (a header said it), the rows are
    chosen up front instead: faster, same distribution. limit=None keeps everything. Rows come back in the
    order they were fed.
    """

    def __init__(self, limit: int | None, seed: int = 0, total: int | None = None):
        self.limit = limit
        self.rng = np.random.default_rng(seed)
        self.seen = 0
        self._rows: list[np.ndarray] = []
        self._keys = np.empty(0)
        self._index = np.empty(0, dtype=np.int64)
        self._pick = None
        if limit is not None and total is not None and total > limit:
            # the row count is known up front (a header said it): choose the rows once, keep them as they pass
            self._pick = np.sort(self.rng.choice(total, limit, replace=False))

    def add(self, rows: np.ndarray) -> None:
        """Feed the next rows (an (n, W) array, in file order); keeps at most `limit` of all rows fed."""
        rows = np.asarray(rows)
        n = len(rows)
        if n == 0:
            return
        index = np.arange(self.seen, self.seen + n, dtype=np.int64)
        self.seen += n
        if self.limit is None:
            self._rows.append(rows)
            return
        if self._pick is not None:
            lo, hi = np.searchsorted(self._pick, [index[0], index[-1] + 1])
            self._rows.append(rows[self._pick[lo:hi] - index[0]])
            return
        keys = self.rng.random(n)
        if self._rows:
            rows = np.concatenate([self._rows[0], rows])
            keys = np.concatenate([self._keys, keys])
            index = np.concatenate([self._index, index])
        if len(rows) > self.limit:
            keep = np.argpartition(keys, self.limit - 1)[: self.limit]
            keep.sort()  # sorted positions keep the file order (index is increasing)
            rows, keys, index = rows[keep], keys[keep], index[keep]
        self._rows, self._keys, self._index = [rows], keys, index

    @property
    def subsampled(self) -> bool:
        """Whether more rows were fed than kept."""
        return self.limit is not None and self.seen > self.limit

    def result(self, width: int) -> np.ndarray:
        """The kept rows as one (K, width) array, in the order fed ((0, width) float64 when none)."""
        if not self._rows:
            return np.empty((0, width))
        return self._rows[0] if len(self._rows) == 1 else np.concatenate(self._rows)


def fan_triangles(counts: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray, int]:
    """Triangles (fans) from polygons given as vertex counts and their concatenated indices, and how many
    polygons had fewer than 3 vertices (dropped)."""
    starts = np.concatenate([[0], np.cumsum(counts[:-1], dtype=np.int64)])
    good = counts >= 3
    tris = []
    for k in np.unique(counts[good]):
        rows = starts[counts == k]
        idx = flat[rows[:, None] + np.arange(k)]
        for j in range(1, k - 1):
            tris.append(np.stack([idx[:, 0], idx[:, j], idx[:, j + 1]], axis=1))
    faces = np.concatenate(tris) if tris else np.empty((0, 3), np.int64)
    return faces.astype(np.int64), int((~good).sum())
