"""The members of a collection as training needs them: where each file is, the hash of its bytes, its kind
and its bounding box (and, for an aligned collection, its transform onto the template), never its arrays.

A member's mesh is read only when something asks for its geometry (the process drawing its samples, a
measure, the app), and dropped after; a collection of a thousand meshes so holds a few hundred bytes per
shape. What scanning a file finds (kind and bounding box) can be kept in a `facts` store keyed by the
hash of the file's bytes and how it was read, so that loading the collection again reads no mesh at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .geometry import Geometry, Normalization
from .loaders import load
from .masks import MaskOptions


def file_digest(path: str) -> str:
    """blake2b hex digest of a file's bytes ('' when it cannot be read)."""
    h = hashlib.blake2b(digest_size=20)
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return ""
    return h.hexdigest()


@dataclass(frozen=True)
class Member:
    """One shape of a collection without its arrays.

    source: the file; digest: file_digest(source); kind: 'mesh' or 'points'; lo, hi: the bounding box
    corners in the collection's frame (after transform); mask: how a segmentation mask is meshed (None: the
    default); transform: 4x4 (nested tuples) from the file's frame to the collection's, or None."""

    source: str
    digest: str
    kind: str
    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    mask: MaskOptions | None = None
    transform: tuple | None = None

    def world(self) -> Geometry:
        """The geometry read from the file now, in the collection's frame (world units)."""
        g = load(self.source, mask=self.mask)
        if self.transform is None:
            return g
        return moved(g, np.asarray(self.transform, dtype=np.float64))

    def unit(self, norm: Normalization) -> Geometry:
        """The geometry read now and normalised by norm."""
        return self.world().transformed(norm)

    def key(self) -> dict:
        """What the member's samples are computed from, besides the normalisation: the file's bytes, and
        how it was read and moved when that is not the default."""
        out = {"file": self.digest}
        if self.mask is not None and self.mask != MaskOptions():
            out["mask"] = asdict(self.mask)
        if self.transform is not None:
            out["transform"] = [list(r) for r in self.transform]
        return out

    def with_transform(self, T: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Member:
        """This member moved by T (file frame to the collection's), with the bounding box it then has."""
        t = tuple(tuple(float(x) for x in row) for row in np.asarray(T))
        return Member(self.source, self.digest, self.kind, _corner(lo), _corner(hi), self.mask, t)


def moved(g: Geometry, T: np.ndarray) -> Geometry:
    """g moved by the 4x4 similarity T (normals rotated, not scaled)."""
    normals = None if g.normals is None else g.normals @ (T[:3, :3] / np.cbrt(np.linalg.det(T[:3, :3]))).T
    return Geometry(g.vertices @ T[:3, :3].T + T[:3, 3], g.faces, normals, g.source, list(g.notices))


def _corner(x) -> tuple[float, float, float]:
    return tuple(float(c) for c in np.asarray(x, dtype=np.float64))


def scan(path: str, mask: MaskOptions | None = None, facts=None) -> Member:
    """The Member of a file: its kind and bounding box from facts (a store with get(key) -> dict | None and
    put(key, dict)) when it knows them, else read from the file (LoadError when it cannot be) and given to
    facts. The arrays are dropped before this returns."""
    digest = file_digest(str(path))
    fkey = None
    if facts is not None and digest:
        how = {"file": digest, "mask": asdict(mask) if mask is not None else None}
        fkey = hashlib.blake2b(repr(sorted(how.items())).encode(), digest_size=20).hexdigest()
        known = facts.get(fkey)
        if known is not None:
            return Member(str(path), digest, known["kind"], _corner(known["lo"]), _corner(known["hi"]), mask)
    g = load(path, mask=mask)
    member = Member(g.source, digest, g.kind, _corner(g.vertices.min(axis=0)), _corner(g.vertices.max(axis=0)), mask)
    if fkey is not None:
        facts.put(fkey, {"kind": member.kind, "lo": member.lo, "hi": member.hi})
    return member


class Shapes(Sequence):
    """The collection's shapes in normalised coordinates, each read from its file when asked for (and not
    kept): shapes[i] is a Geometry; `members` and `norms` are what a sampling process needs to read it."""

    def __init__(self, members: list[Member], norms: list[Normalization]):
        self.members, self.norms = list(members), list(norms)

    def __len__(self) -> int:
        return len(self.members)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.members[i].unit(self.norms[i])

    def reader(self, i: int) -> Callable[[], Geometry]:
        """A picklable call that reads shape i (for a sampling process)."""
        return _Reader(self.members[i], self.norms[i])


@dataclass(frozen=True)
class _Reader:
    member: Member
    norm: Normalization

    def __call__(self) -> Geometry:
        return self.member.unit(self.norm)
