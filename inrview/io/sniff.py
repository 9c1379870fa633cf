"""What a file really is, from its first bytes, so that a wrong extension is caught before a parser sees it.

Only unambiguous signatures count (magic numbers, a PLY/OFF/PCD header, an STL 'solid ... facet'); text
formats without a signature (OBJ, XYZ) are recognised by their first data lines.
"""

from __future__ import annotations

import re

#: Image signatures: these files belong to `inrview image`, never to the shape loaders.
IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),
    (b"MM\x00+", "TIFF"),
    (b"BM", "BMP"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"RIFF", "WEBP"),
)

OTHER_MAGIC = (
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!", "RAR archive"),
    (b"%PDF", "PDF document"),
    (b"\x7fELF", "program (ELF)"),
    (b"MZ", "Windows program"),
)

_TEXT_FAMILY = {"xyz", "xyzn", "pts", "txt", "csv"}


def family(ext: str) -> str:
    """Extensions that share one parser map to one family name."""
    return "text" if ext in _TEXT_FAMILY else ext


def sniff(head: bytes, size: int) -> str | None:
    """The format the content declares: a loader extension ('ply', 'glb', 'pcd', 'npy', 'npz', 'off',
    'stl', 'obj', 'text'), 'image:PNG' etc. for images, 'other:<what>' for other known files, or None
    when the content does not say (binary STL, or anything else)."""
    for magic, name in IMAGE_MAGIC:
        if head.startswith(magic):
            if name == "WEBP" and head[8:12] != b"WEBP":
                continue
            if name == "BMP" and not _plausible_bmp(head, size):
                continue
            return f"image:{name}"
    if head.startswith(b"ply") and head[3:4] in (b"\n", b"\r"):
        return "ply"
    if head.startswith(b"glTF"):
        return "glb"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "npz"
    for magic, name in OTHER_MAGIC:
        if head.startswith(magic):
            if name == "Windows program" and b"This program" not in head[:512]:
                continue
            return f"other:{name}"
    text = head[:4096]
    if b"\x00" in text:
        return None  # binary without a signature (binary STL, or random bytes)
    s = text.decode("latin-1")
    lines = [ln.strip() for ln in s.splitlines() if ln.strip()]
    first = lines[0] if lines else ""
    if re.match(r"^[CN]{0,2}4?n?OFF\b", first):
        return "off"
    if re.search(r"^\s*(#\s*\.PCD|VERSION\s+\S+\s*$)", s, re.M) and re.search(r"^\s*FIELDS\s", s, re.M):
        return "pcd"
    if first.lower().startswith("solid") and re.search(r"^\s*facet\s", s, re.M):
        return "stl"
    if re.search(r"^\s*v\s+\S+\s+\S+\s+\S+", s, re.M) and not re.search(r"^\s*[-+.\d]", s, re.M):
        return "obj"
    if lines and all(_numeric_row(ln) for ln in lines[1:6]) and len(lines) > 1:
        return "text"
    return None


def _numeric_row(line: str) -> bool:
    parts = re.split(r"[\s,;]+", line.strip())
    try:
        [float(p) for p in parts if p]
        return len(parts) >= 1
    except ValueError:
        return False


def _plausible_bmp(head: bytes, size: int) -> bool:
    """'BM' is two common letters: also require a BMP header whose file size field is sensible."""
    if len(head) < 26:
        return False
    declared = int.from_bytes(head[2:6], "little")
    dib = int.from_bytes(head[14:18], "little")
    return dib in (12, 40, 52, 56, 64, 108, 124) and (declared == size or declared == 0 or abs(declared - size) < 16)
