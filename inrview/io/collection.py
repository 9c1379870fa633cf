"""A collection of shapes for a shape space: a folder or a list file of meshes (or of point clouds), loaded
and normalised together.

Normalisation ('joint' or 'per-shape') is recorded with the collection and with every space trained on it:

- 'joint': one similarity for the whole collection (the bounding box of all shapes together into the unit
  cube). Relative size and position survive, so a space of aligned scans (bones in one scanner frame, parts
  in one CAD frame) learns size as part of shape, and a new scan in that frame is completed in place.
- 'per-shape': each shape into the unit cube by its own bounding box. Size and position are lost (every
  shape fills the cube); right for collections in unrelated frames or units. A partial scan completed in
  such a space is placed by its own bounding box, which is only right when the scan covers the whole shape.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import LoadError
from .formats import GEOMETRY_FORMATS
from .geometry import Geometry, Normalization
from .masks import MaskOptions, mask_format
from .members import Member, Shapes, scan

NormaliseMode = Literal["joint", "per-shape"]
#: Suffixes read as list files (one path per line, relative to the list file; '#' starts a comment).
LIST_SUFFIXES = (".lst", ".list")


@dataclass
class Collection:
    """Shapes loaded for a space.

    names: one unique name per shape (the file's stem); sources: the paths; shapes: each Geometry in
    normalised coordinates (inside [-1, 1]^3), read from its file when asked for (members.Shapes; the
    collection itself holds no mesh); kind: 'mesh' or 'points'; normalise: the mode; normalizations: one
    Normalization per shape (all equal for 'joint'); notices: files skipped and why.
    """

    names: list[str]
    sources: list[str]
    shapes: Shapes
    kind: str
    normalise: str
    normalizations: list[Normalization]
    notices: list[str] = field(default_factory=list)
    alignment: dict | None = None  # set by space.align: template and each file's transform onto it

    def __len__(self) -> int:
        return len(self.names)

    def record(self) -> dict:
        """The normalisation as JSON: {'mode', 'joint' (one transform or None), 'per_shape' (list)}."""
        joint = self.normalizations[0].to_dict() if self.normalise == "joint" else None
        rec = {"mode": self.normalise, "joint": joint, "per_shape": [n.to_dict() for n in self.normalizations]}
        if self.alignment is not None:
            rec["alignment"] = self.alignment
        return rec


def member_paths(source: str | os.PathLike) -> list[Path]:
    """The member files of a folder (supported suffixes, sorted by name; hidden files skipped) or of a list
    file. Raises LoadError naming the source when it is missing or names nothing."""
    p = Path(source)
    if not p.exists():
        raise LoadError(p, "collection not found")
    if p.is_dir():
        paths = sorted(
            q
            for q in p.iterdir()
            if q.is_file()
            and not q.name.startswith(".")
            and (q.suffix.lower().lstrip(".") in GEOMETRY_FORMATS or mask_format(q))
        )
        if not paths:
            raise LoadError(p, "folder holds no mesh or point-cloud files")
        return paths
    if p.suffix.lower() in LIST_SUFFIXES or p.suffix.lower() == ".txt" and _looks_like_list(p):
        lines = [ln.split("#", 1)[0].strip() for ln in p.read_text(errors="replace").splitlines()]
        paths = [(p.parent / ln) if not os.path.isabs(ln) else Path(ln) for ln in lines if ln]
        if not paths:
            raise LoadError(p, "list file names no files")
        return paths
    raise LoadError(p, "is neither a folder nor a list file (.lst, .list or .txt of paths)")


def _looks_like_list(p: Path) -> bool:
    """A .txt whose first non-empty line names an existing file (else it is an XYZ point cloud)."""
    try:
        with open(p, errors="replace") as fh:
            for line in fh:
                line = line.split("#", 1)[0].strip()
                if line:
                    return (p.parent / line).is_file() or Path(line).is_file()
    except OSError:
        return False
    return False


def load_members(
    paths: list[Path], notify: Callable[[str], None] | None = None, mask: MaskOptions | None = None, facts=None
) -> tuple[list[Member], list[str]]:
    """Scan each file (mask: how segmentation masks are meshed; facts: see members.scan), one at a time and
    keeping none of its arrays; an unreadable one is skipped with a notice naming it. Returns (members,
    notices)."""
    shapes, notices = [], []
    for path in paths:
        try:
            shapes.append(scan(path, mask, facts))
        except LoadError as err:
            notices.append(f"skipped {err}")
            if notify is not None:
                notify(notices[-1])
    return shapes, notices


def check_one_kind(shapes: list[Member] | list[Geometry]) -> str:
    """'mesh' or 'points'; LoadError naming the first file of the minority kind when they are mixed."""
    kinds = [g.kind for g in shapes]
    major = max(set(kinds), key=kinds.count)
    for g in shapes:
        if g.kind != major:
            what = {"mesh": ("a mesh", "point clouds"), "points": ("a point cloud", "meshes")}[g.kind]
            raise LoadError(g.source, f"is {what[0]} but most of the collection are {what[1]}: use files of one kind")
    return major


def bounds_of(shape: Member | Geometry) -> np.ndarray:
    """(2, 3) bounding box corners of a Member (as scanned) or a Geometry."""
    return np.array([shape.lo, shape.hi]) if isinstance(shape, Member) else shape.bounds


def normalizations(shapes: list[Member] | list[Geometry], mode: str, margin: float = 0.1) -> list[Normalization]:
    """One Normalization per shape: the same joint one for all ('joint'), or each its own ('per-shape')."""
    boxes = [bounds_of(g) for g in shapes]
    if mode == "joint":
        lo = np.min([b[0] for b in boxes], axis=0)
        hi = np.max([b[1] for b in boxes], axis=0)
        joint = Normalization.fit(np.stack([lo, hi]), margin)
        return [joint] * len(shapes)
    if mode == "per-shape":
        return [Normalization.fit(b, margin) for b in boxes]
    raise ValueError(f"unknown normalisation {mode!r} (joint, per-shape)")


def unique_names(paths: list[str]) -> list[str]:
    """File stems, made unique with a numeric suffix where two files share a stem."""
    names, seen = [], {}
    for p in paths:
        stem = Path(p).stem
        stem = stem[:-4] if stem.lower().endswith(".nii") else stem  # 'name.nii.gz' -> 'name'
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}_{seen[stem]}")
    return names


def load_collection(
    source: str | os.PathLike,
    normalise: NormaliseMode = "joint",
    margin: float = 0.1,
    notify: Callable[[str], None] | None = None,
    mask: MaskOptions | None = None,
    facts=None,
) -> Collection:
    """Load a folder or list file of meshes (or of point clouds) and normalise them. The collection keeps
    each member's file, hash and bounding box, not its arrays (members.py): memory grows with the number
    of shapes by a few hundred bytes each.

    notify: called with a one-line notice for each skipped file; facts: a store of what scanning each file
    found (members.scan), so that a collection seen before is loaded without reading any mesh. Raises
    LoadError naming the file for an empty folder, a folder where nothing could be read, or mixed meshes
    and point clouds.
    """
    paths = member_paths(source)
    members, notices = load_members(paths, notify, mask, facts)
    if not members:
        raise LoadError(source, f"none of its {len(paths)} file(s) could be read ({notices[0]})")
    kind = check_one_kind(members)
    norms = normalizations(members, normalise, margin)
    sources = [m.source for m in members]
    return Collection(unique_names(sources), sources, Shapes(members, norms), kind, normalise, norms, notices)
