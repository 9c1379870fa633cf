"""The PLY header: its format, elements and properties, checked line by line (a bad header is one LoadError
naming the line), and the byte sizes the reader checks the file's length against."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import LoadError

#: The header (everything up to end_header) may not be longer than this.
MAX_HEADER_BYTES = 1 << 20

TYPES = {
    "char": "i1",
    "int8": "i1",
    "uchar": "u1",
    "uint8": "u1",
    "short": "i2",
    "int16": "i2",
    "ushort": "u2",
    "uint16": "u2",
    "int": "i4",
    "int32": "i4",
    "uint": "u4",
    "uint32": "u4",
    "float": "f4",
    "float32": "f4",
    "double": "f8",
    "float64": "f8",
}
FORMATS = {"ascii": None, "binary_little_endian": "<", "binary_big_endian": ">"}


@dataclass
class Prop:
    """One header property: name, numpy dtype code (e.g. 'f4') and, for list properties, the dtype of
    the list length."""

    name: str
    dtype: str
    count_dtype: str | None = None  # set for list properties


@dataclass
class Element:
    """One header element: name, row count and properties, in file order."""

    name: str
    count: int
    props: list = field(default_factory=list)

    @property
    def has_list(self) -> bool:
        """Whether any property is a list (rows then have variable length)."""
        return any(p.count_dtype for p in self.props)

    def row_dtype(self, order: str) -> np.dtype:
        """Structured numpy dtype of a fixed-size binary row in byte order `order` ('<' or '>')."""
        return np.dtype([(p.name, order + p.dtype) for p in self.props])

    def min_row_bytes(self) -> int:
        """Fewest bytes one binary row can take (lists counted as empty)."""
        return sum(np.dtype(p.count_dtype or p.dtype).itemsize for p in self.props)


@dataclass
class Header:
    """A parsed PLY header: format name, elements in file order, and its length in bytes."""

    fmt: str
    elements: list
    length: int  # bytes up to and including the end_header line

    def element(self, name: str) -> Element | None:
        """The element called name, or None."""
        return next((e for e in self.elements if e.name == name), None)


def read_header(p: Path, head: bytes) -> Header:
    """Parse the header from the file's first bytes (at least MAX_HEADER_BYTES + 16 of them, or all)."""
    lines, length = _header_lines(p, head)
    fmt = None
    elements: list[Element] = []
    for no, raw in enumerate(lines[1:], 2):
        words = raw.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        key = words[0]
        if key == "format":
            if len(words) < 2 or words[1] not in FORMATS:
                raise LoadError(p, f"PLY header line {no}: unknown format {' '.join(words[1:])[:40]!r}")
            fmt = words[1]
        elif key == "element":
            elements.append(_element(p, no, words))
        elif key == "property":
            if not elements:
                raise LoadError(p, f"PLY header line {no}: property before any element")
            el = elements[-1]
            prop = _property(p, no, words)
            if any(q.name == prop.name for q in el.props):
                raise LoadError(p, f"PLY header line {no}: property {prop.name!r} appears twice in element {el.name!r}")
            el.props.append(prop)
        else:
            raise LoadError(p, f"PLY header line {no}: unknown keyword {key[:30]!r}")
    if fmt is None:
        raise LoadError(p, "PLY header has no format line")
    for el in elements:
        if el.count and not el.props:
            raise LoadError(p, f"PLY element {el.name!r} has {el.count} rows but no properties")
    return Header(fmt, elements, length)


def _header_lines(p: Path, head: bytes) -> tuple[list[str], int]:
    """The header's lines (the first being 'ply') and its length in bytes up to and including end_header."""
    end = None
    for marker in (b"end_header\r\n", b"end_header\n", b"end_header\r"):
        i = head.find(marker)
        if i >= 0 and (end is None or i < end[0]):
            end = (i, i + len(marker))
    if end is None:
        if len(head) > MAX_HEADER_BYTES:
            raise LoadError(
                p, f"PLY header is longer than {MAX_HEADER_BYTES // 1024} KiB (no end_header line within it)"
            )
        raise LoadError(p, "PLY header has no end_header line (the file is truncated or not a PLY file)")
    if end[0] > MAX_HEADER_BYTES:
        raise LoadError(p, f"PLY header is longer than {MAX_HEADER_BYTES // 1024} KiB")
    text = head[: end[0]].decode("latin-1")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[0].strip() != "ply":
        raise LoadError(p, "not a PLY file (it does not start with 'ply')")
    return lines, end[1]


def _element(p: Path, no: int, words: list[str]) -> Element:
    """The Element of an 'element NAME COUNT' header line (number no), without properties yet."""
    if len(words) != 3:
        raise LoadError(p, f"PLY header line {no}: expected 'element NAME COUNT'")
    try:
        count = int(words[2])
    except ValueError:
        raise LoadError(p, f"PLY header line {no}: element count {words[2][:30]!r} is not a number") from None
    if count < 0:
        raise LoadError(p, f"PLY header line {no}: negative element count {count}")
    return Element(words[1], count)


def _property(p: Path, no: int, words: list[str]) -> Prop:
    """The Prop of a 'property TYPE NAME' or 'property list COUNT_TYPE ITEM_TYPE NAME' header line."""
    if len(words) == 5 and words[1] == "list":
        ct, it = TYPES.get(words[2]), TYPES.get(words[3])
        if ct is None or it is None or ct[0] == "f" or it[0] == "f":
            raise LoadError(p, f"PLY header line {no}: bad list property types {words[2]!r} {words[3]!r}")
        return Prop(words[4], it, ct)
    if len(words) == 3 and words[1] in TYPES:
        return Prop(words[2], TYPES[words[1]])
    raise LoadError(p, f"PLY header line {no}: bad property {' '.join(words[1:])[:60]!r}")
