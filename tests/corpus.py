"""The bad-input corpus: a few hundred broken, hostile or merely odd files, generated into a folder.

`generate(folder)` writes every file and returns a list of Case records: the file, what kind of input it
is ('shape' for the mesh/point-cloud loaders, 'image' for the image loader), and what a user should get:
expect='error' (a LoadError; `text` must appear in its message), expect='ok' (it loads; `text` must
appear in a notice when given), or expect=None (either is fine, e.g. random byte flips inside float data,
which are still floats). Everything is seeded, so the corpus is the same on every run.

Run as `python tests/corpus.py --worker` it is the subprocess that loads corpus files one at a time for
tests/test_bad_inputs.py (see `worker`).
"""

from __future__ import annotations

import io
import json
import os
import struct
import sys
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

BIG_POINTS = 10_000_000
HUGE_IMAGE = 20_000


@dataclass
class Case:
    name: str
    path: str
    kind: str = "shape"  # 'shape' or 'image'
    expect: str | None = None  # 'error', 'ok' or None (either)
    text: str = ""  # substring of the error message, or of a notice when expect == 'ok'
    group: str = ""


# -- base shapes ------------------------------------------------------------------------------------
def icosphere(subdiv: int = 2):
    t = (1 + 5**0.5) / 2
    v = np.array(
        [
            [-1, t, 0],
            [1, t, 0],
            [-1, -t, 0],
            [1, -t, 0],
            [0, -1, t],
            [0, 1, t],
            [0, -1, -t],
            [0, 1, -t],
            [t, 0, -1],
            [t, 0, 1],
            [-t, 0, -1],
            [-t, 0, 1],
        ],
        float,
    )
    f = np.array(
        [
            [0, 11, 5],
            [0, 5, 1],
            [0, 1, 7],
            [0, 7, 10],
            [0, 10, 11],
            [1, 5, 9],
            [5, 11, 4],
            [11, 10, 2],
            [10, 7, 6],
            [7, 1, 8],
            [3, 9, 4],
            [3, 4, 2],
            [3, 2, 6],
            [3, 6, 8],
            [3, 8, 9],
            [4, 9, 5],
            [2, 4, 11],
            [6, 2, 10],
            [8, 6, 7],
            [9, 8, 1],
        ]
    )
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    for _ in range(subdiv):
        cache = {}
        verts = list(v)

        def mid(a, b):
            key = (min(a, b), max(a, b))
            if key not in cache:
                m = verts[a] + verts[b]
                verts.append(m / np.linalg.norm(m))
                cache[key] = len(verts) - 1
            return cache[key]

        nf = []
        for a, b, c in f:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            nf += [[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]
        v, f = np.array(verts), np.array(nf)
    return v, f


def sphere_cloud(n: int = 600):
    i = np.arange(n) + 0.5
    phi, th = np.arccos(1 - 2 * i / n), np.pi * (1 + 5**0.5) * i
    p = np.stack([np.cos(th) * np.sin(phi), np.sin(th) * np.sin(phi), np.cos(phi)], 1)
    return p, p.copy()


# -- writers ----------------------------------------------------------------------------------------
def ply_bytes(
    v,
    f=None,
    n=None,
    binary=True,
    order="<",
    header_extra="",
    face_count=None,
    vertex_count=None,
    index_type="int",
    count_type="uchar",
) -> bytes:
    fmt = {"<": "binary_little_endian", ">": "binary_big_endian"}[order] if binary else "ascii"
    props = ["x", "y", "z"] + (["nx", "ny", "nz"] if n is not None else [])
    h = f"ply\nformat {fmt} 1.0\ncomment inrview corpus\n{header_extra}"
    h += f"element vertex {len(v) if vertex_count is None else vertex_count}\n"
    h += "".join(f"property float {p}\n" for p in props)
    if f is not None:
        h += f"element face {len(f) if face_count is None else face_count}\n"
        h += f"property list {count_type} {index_type} vertex_indices\n"
    h += "end_header\n"
    cols = v if n is None else np.hstack([v, n])
    if binary:
        body = cols.astype(order + "f4").tobytes()
        if f is not None:
            ct = {"uchar": "u1", "int": "i4", "ushort": "u2"}[count_type]
            it = {"int": "i4", "uint": "u4", "short": "i2", "uchar": "u1"}[index_type]
            rec = np.zeros(len(f), dtype=[("n", order + ct), ("i", order + it, (3,))])
            rec["n"], rec["i"] = 3, f
            body += rec.tobytes()
    else:
        body = "".join(" ".join(f"{x:.7g}" for x in row) + "\n" for row in cols).encode()
        if f is not None:
            body += "".join(f"3 {a} {b} {c}\n" for a, b, c in f).encode()
    return h.encode() + body


def obj_bytes(v, f=None) -> bytes:
    s = "# inrview corpus\n" + "".join(f"v {a:.7g} {b:.7g} {c:.7g}\n" for a, b, c in v)
    if f is not None:
        s += "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in f)
    return s.encode()


def stl_binary(v, f, header=b"inrview corpus", count=None) -> bytes:
    rec = np.zeros(len(f), dtype=[("n", "<f4", (3,)), ("v", "<f4", (3, 3)), ("a", "<u2")])
    rec["v"] = v[f]
    return header.ljust(80, b" ")[:80] + struct.pack("<I", len(f) if count is None else count) + rec.tobytes()


def stl_ascii(v, f) -> bytes:
    s = "solid corpus\n"
    for tri in v[f]:
        s += " facet normal 0 0 0\n  outer loop\n"
        s += "".join(f"   vertex {a:.7g} {b:.7g} {c:.7g}\n" for a, b, c in tri)
        s += "  endloop\n endfacet\n"
    return (s + "endsolid corpus\n").encode()


def off_bytes(v, f, counts=None) -> bytes:
    nv, nf = counts or (len(v), len(f))
    s = f"OFF\n{nv} {nf} 0\n" + "".join(f"{a:.7g} {b:.7g} {c:.7g}\n" for a, b, c in v)
    return (s + "".join(f"3 {a} {b} {c}\n" for a, b, c in f)).encode()


def glb_bytes(v, f, doc_patch=None, version=2, length_delta=0) -> bytes:
    vb = v.astype("<f4").tobytes()
    ib = f.astype("<u4").tobytes()
    binary = vb + ib
    doc = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
        "buffers": [{"byteLength": len(binary)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(vb)},
            {"buffer": 0, "byteOffset": len(vb), "byteLength": len(ib)},
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": len(v),
                "type": "VEC3",
                "min": v.min(0).tolist(),
                "max": v.max(0).tolist(),
            },
            {"bufferView": 1, "componentType": 5125, "count": f.size, "type": "SCALAR"},
        ],
    }
    if doc_patch:
        doc_patch(doc)
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    binary += b"\x00" * (-len(binary) % 4)
    body = struct.pack("<II", len(js), 0x4E4F534A) + js + struct.pack("<II", len(binary), 0x004E4942) + binary
    return struct.pack("<4sII", b"glTF", version, 12 + len(body) + length_delta) + body


def xyz_bytes(p, n=None, delim=" ", header="", digits=7) -> bytes:
    cols = p if n is None else np.hstack([p, n])
    return (header + "".join(delim.join(f"{x:.{digits}g}" for x in row) + "\n" for row in cols)).encode()


def pcd_bytes(p, n=None, mode="ascii", points=None, fields_extra="") -> bytes:
    names = ["x", "y", "z"] + (["normal_x", "normal_y", "normal_z"] if n is not None else [])
    cols = (p if n is None else np.hstack([p, n])).astype("<f4")
    k = len(names)
    npts = len(p) if points is None else points
    h = (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\n"
        f"FIELDS {' '.join(names)}\nSIZE {' '.join(['4'] * k)}\nTYPE {' '.join(['F'] * k)}\n"
        f"COUNT {' '.join(['1'] * k)}\n{fields_extra}WIDTH {npts}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\n"
        f"POINTS {npts}\nDATA {mode}\n"
    )
    if mode == "ascii":
        body = "".join(" ".join(f"{x:.7g}" for x in row) + "\n" for row in cols).encode()
    elif mode == "binary":
        body = cols.tobytes()
    else:
        raw = np.ascontiguousarray(cols.T).tobytes()  # column-major
        comp = lzf_literal(raw)
        body = struct.pack("<II", len(comp), len(raw)) + comp
    return h.encode() + body


def lzf_literal(raw: bytes) -> bytes:
    """A valid LZF stream made only of literal runs (what the reader must accept), plus one back-reference
    at the start when the data allows it, so both token kinds are exercised."""
    out = bytearray()
    for i in range(0, len(raw), 32):
        chunk = raw[i : i + 32]
        out.append(len(chunk) - 1)
        out += chunk
    return bytes(out)


def npy_bytes(a) -> bytes:
    b = io.BytesIO()
    np.save(b, a, allow_pickle=True)
    return b.getvalue()


def npz_bytes(**arrays) -> bytes:
    b = io.BytesIO()
    np.savez_compressed(b, **arrays)
    return b.getvalue()


# -- images ---------------------------------------------------------------------------------------------
def png_bytes(a: np.ndarray, bitdepth=8) -> bytes:
    """PNG from (H, W) or (H, W, C) uint8/uint16 data, written directly (no Pillow limits)."""
    a = np.asarray(a)
    h, w = a.shape[:2]
    c = 1 if a.ndim == 2 else a.shape[2]
    ctype = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    dt = ">u2" if bitdepth == 16 else "u1"
    rows = a.reshape(h, w * c).astype(dt)
    raw = b"".join(b"\x00" + r.tobytes() for r in rows)
    return _png(w, h, bitdepth, ctype, zlib.compress(raw, 6))


def _png(w, h, bitdepth, ctype, idat: bytes) -> bytes:
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bitdepth, ctype, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def huge_png(path: Path, side: int = HUGE_IMAGE) -> None:
    """A side x side greyscale PNG of zeros, compressed row by row (about 400 KB for 20000 x 20000)."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    parts = [comp.compress(row) for _ in range(side)]
    parts.append(comp.flush())
    path.write_bytes(_png(side, side, 8, 0, b"".join(parts)))


def pil_bytes(a: np.ndarray, fmt: str, mode=None, **kw) -> bytes:
    from PIL import Image

    im = Image.fromarray(a, mode) if mode else Image.fromarray(a)
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


# -- mutations ------------------------------------------------------------------------------------------
def truncations(data: bytes):
    n = len(data)
    return {
        "trunc02": data[: max(1, n * 2 // 100)],
        "trunc30": data[: n * 30 // 100],
        "trunc60": data[: n * 60 // 100],
        "trunc95": data[: n * 95 // 100],
        "trunc_last_byte": data[: n - 1],
    }


def corruptions(data: bytes, rng: np.random.Generator):
    out = {}
    for k, flips in (("flip8", 8), ("flip200", 200)):
        b = bytearray(data)
        pos = rng.integers(min(len(b) - 1, 64), len(b), flips)
        for p_ in pos:
            b[p_] = int(rng.integers(0, 256))
        out[k] = bytes(b)
    b = bytearray(data)
    b[:16] = rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
    out["head_garbage"] = bytes(b)
    mid = len(data) // 2
    out["zeroed_half"] = data[:mid] + b"\x00" * (len(data) - mid)
    return out


# -- the corpus -----------------------------------------------------------------------------------------
def generate(folder: str | os.PathLike, big: bool = True) -> list[Case]:
    """Write the corpus into `folder`; big=False leaves out the 10M-point cloud and the 20000^2 image."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    cases: list[Case] = []

    def put(name, data, expect=None, text="", kind="shape", group=""):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        cases.append(Case(name, str(path), kind, expect, text, group or name.split("/")[0]))

    V, F = icosphere(2)
    P, PN = sphere_cloud(600)

    # valid files of every format, then each one truncated and corrupted
    valid = {
        "ply_ascii.ply": ply_bytes(V, F, binary=False),
        "ply_binary.ply": ply_bytes(V, F),
        "ply_big_endian.ply": ply_bytes(V, F, order=">"),
        "ply_points.ply": ply_bytes(P, None, PN),
        "mesh.obj": obj_bytes(V, F),
        "mesh_ascii.stl": stl_ascii(V, F),
        "mesh_binary.stl": stl_binary(V, F),
        "mesh.off": off_bytes(V, F),
        "mesh.glb": glb_bytes(V, F),
        "cloud.xyz": xyz_bytes(P, PN),
        "cloud.csv": xyz_bytes(P, None, ",", "x,y,z\n"),
        "cloud_ascii.pcd": pcd_bytes(P, PN),
        "cloud_binary.pcd": pcd_bytes(P, PN, "binary"),
        "cloud_compressed.pcd": pcd_bytes(P, PN, "binary_compressed"),
        "cloud.npy": npy_bytes(P.astype(np.float32)),
        "cloud.npz": npz_bytes(points=P, normals=PN),
    }
    strict_truncation = {
        "ply_ascii.ply",
        "ply_binary.ply",
        "ply_big_endian.ply",
        "ply_points.ply",
        "mesh_binary.stl",
        "mesh.off",
        "mesh.glb",
        "cloud_binary.pcd",
        "cloud_compressed.pcd",
        "cloud_ascii.pcd",
        "cloud.npy",
        "cloud.npz",
        "mesh_ascii.stl",
    }
    # text files lose only their final newline when cut by one byte: still whole
    text_formats = {"ply_ascii.ply", "mesh.off", "cloud_ascii.pcd", "mesh_ascii.stl"}
    for name, data in valid.items():
        put(f"valid/{name}", data, "ok", group="valid")
        stem, ext = name.rsplit(".", 1)
        for tag, cut in truncations(data).items():
            strict = name in strict_truncation and not (tag == "trunc_last_byte" and name in text_formats)
            put(f"truncated/{stem}_{tag}.{ext}", cut, "error" if strict else None)
        for tag, bad in corruptions(data, rng).items():
            put(f"corrupted/{stem}_{tag}.{ext}", bad, None)

    # empty files and random bytes, in every extension
    for ext in ("ply", "obj", "stl", "off", "glb", "gltf", "xyz", "xyzn", "pts", "txt", "csv", "pcd", "npy", "npz"):
        put(f"empty/empty.{ext}", b"", "error", "empty")
        put(f"random/random_small.{ext}", rng.integers(0, 256, 700, dtype=np.uint8).tobytes(), "error")
        put(f"random/random_large.{ext}", rng.integers(0, 256, 300_000, dtype=np.uint8).tobytes(), "error")
    put("random/random_text.obj", bytes(rng.integers(32, 127, 5000, dtype=np.uint8)), None)
    put("random/whitespace.xyz", b" \n\t\n   \n" * 100, "error", "no points")
    put("random/nul_bytes.ply", b"\x00" * 4096, "error")

    # wrong extensions: the content decides, with a notice; images and archives are named
    put("wrong_ext/ply_named.obj", valid["ply_binary.ply"], "ok", "content is PLY")
    put("wrong_ext/obj_named.ply", valid["mesh.obj"], "ok", "content is OBJ")
    put("wrong_ext/glb_named.stl", valid["mesh.glb"], "ok", "content is GLB")
    put("wrong_ext/npy_named.xyz", valid["cloud.npy"], "ok", "content is NPY")
    put("wrong_ext/pcd_named.ply", valid["cloud_ascii.pcd"], "ok", "content is PCD")
    put("wrong_ext/off_named.obj", valid["mesh.off"], "ok", "content is OFF")
    put("wrong_ext/xyz_named.ply", valid["cloud.xyz"], "ok", "content is XYZ")
    put("wrong_ext/ply_named.dat", valid["ply_ascii.ply"], "ok", "content is PLY")
    put("wrong_ext/ply_no_extension", valid["ply_ascii.ply"], "ok", "no file extension")
    put("wrong_ext/unknown.abc", b"hello", "error", "unknown format")
    put("wrong_ext/gzip_named.ply", b"\x1f\x8b\x08\x00" + bytes(100), "error", "gzip")
    put("wrong_ext/pdf_named.obj", b"%PDF-1.4\n" + bytes(200), "error", "PDF")
    img = (rng.random((32, 48, 3)) * 255).astype(np.uint8)
    put("wrong_ext/png_named.ply", png_bytes(img), "error", "PNG image")
    put("wrong_ext/jpeg_named.obj", pil_bytes(img, "JPEG"), "error", "JPEG image")
    put("wrong_ext/tiff_named.stl", pil_bytes(img, "TIFF"), "error", "TIFF image")
    put("wrong_ext/bmp_named.xyz", pil_bytes(img, "BMP"), "error", "BMP image")
    put("wrong_ext/stl_named.xyz", valid["mesh_binary.stl"], "error")

    # PLY headers that lie
    put(
        "ply_header/huge_vertex_count.ply",
        ply_bytes(V, F, vertex_count=10**12),
        "error",
        "truncated or its header is wrong",
    )
    put(
        "ply_header/huge_face_count.ply",
        ply_bytes(V, F, face_count=2**31 - 1),
        "error",
        "truncated or its header is wrong",
    )
    put("ply_header/huge_count_ascii.ply", ply_bytes(V, F, binary=False, vertex_count=10**9), "error", "header")
    put("ply_header/negative_count.ply", ply_bytes(V, F, vertex_count=-5), "error", "negative")
    put(
        "ply_header/count_not_number.ply",
        ply_bytes(V, F).replace(b"element vertex 162", b"element vertex lots"),
        "error",
        "not a number",
    )
    put(
        "ply_header/unknown_type.ply",
        ply_bytes(V, F).replace(b"property float x", b"property quad x"),
        "error",
        "bad property",
    )
    put(
        "ply_header/float_list_count.ply",
        ply_bytes(V, F).replace(b"list uchar int", b"list float int"),
        "error",
        "list",
    )
    put(
        "ply_header/unknown_format.ply",
        ply_bytes(V, F).replace(b"binary_little_endian", b"binary_middle_endian"),
        "error",
        "unknown format",
    )
    put(
        "ply_header/no_format.ply",
        ply_bytes(V, F).replace(b"format binary_little_endian 1.0\n", b""),
        "error",
        "no format",
    )
    put("ply_header/no_end_header.ply", ply_bytes(V, F).replace(b"end_header", b"end_headr"), "error", "end_header")
    put(
        "ply_header/enormous_comments.ply",
        ply_bytes(V, F, header_extra="comment " + "x" * 70 + "\n" * 1 + ("comment " + "y" * 120 + "\n") * 20000),
        "error",
        "longer than",
    )
    put(
        "ply_header/enormous_line.ply",
        b"ply\nformat ascii 1.0\ncomment " + b"z" * (3 << 20) + b"\n",
        "error",
        "longer than",
    )
    put(
        "ply_header/no_x.ply",
        ply_bytes(V, F).replace(b"property float x\n", b"property float w\n"),
        "error",
        "has no x",
    )
    put(
        "ply_header/duplicate_property.ply",
        ply_bytes(V, F).replace(b"property float y", b"property float x"),
        "error",
        "twice",
    )
    put(
        "ply_header/property_first.ply",
        b"ply\nformat ascii 1.0\nproperty float x\nend_header\n",
        "error",
        "before any element",
    )
    put(
        "ply_header/no_vertices.ply",
        b"ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nproperty float y\nproperty float z\nend_header\n",
        "error",
        "no vertices",
    )
    put(
        "ply_header/unknown_keyword.ply",
        ply_bytes(V, F).replace(b"comment inrview corpus", b"banana split"),
        "error",
        "unknown keyword",
    )
    put("ply_header/crlf.ply", ply_bytes(V, F, binary=False).replace(b"\n", b"\r\n"), "ok")
    put("ply_header/extra_element.ply", ply_bytes(V, F, header_extra="element material 0\nproperty uchar red\n"), "ok")

    # PLY data problems
    bad_idx = F.copy()
    bad_idx[5, 1] = 9999
    put("indices/ply_index_out_of_range.ply", ply_bytes(V, bad_idx), "error", "out of range")
    neg = F.copy()
    neg[3, 2] = -7
    put("indices/ply_negative_index.ply", ply_bytes(V, neg), "error", "out of range")
    put("indices/ply_ascii_out_of_range.ply", ply_bytes(V, bad_idx, binary=False), "error", "out of range")
    put("indices/obj_out_of_range.obj", obj_bytes(V, bad_idx), "error", "refers to vertex 10000")
    put("indices/obj_index_zero.obj", obj_bytes(V, F) + b"f 0 1 2\n", "error", "index 0")
    put("indices/off_out_of_range.off", off_bytes(V, bad_idx), "error", "out of range")
    put("indices/npz_out_of_range.npz", npz_bytes(points=V, faces=bad_idx), "error", "out of range")
    put("indices/npz_float_faces.npz", npz_bytes(points=V, faces=F.astype(float)), "error", "integers")
    put("indices/glb_out_of_range.glb", glb_bytes(V, bad_idx), "error")
    h = (
        "ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\n"
        "element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n"
    )
    put("polygons/ply_quad.ply", h.encode(), "ok", "flat")
    put("polygons/ply_two_vertex_face.ply", h.replace("4 0 1 2 3", "2 0 1").encode(), "error", "")
    put("polygons/ply_list_longer_than_row.ply", h.replace("4 0 1 2 3", "9 0 1 2 3").encode(), "error", "list length")

    # NaN and Inf coordinates
    Vn = V.copy()
    Vn[[3, 50, 90]] = np.nan
    put("nan/ply_some_nan.ply", ply_bytes(Vn, F), "ok", "NaN")
    put("nan/obj_some_nan.obj", obj_bytes(Vn, F), "ok", "NaN")
    put("nan/xyz_some_nan.xyz", xyz_bytes(np.vstack([P, [[np.nan, 0, 0], [np.inf, 1, 1]]])), "ok", "NaN")
    put("nan/ply_all_nan.ply", ply_bytes(np.full_like(V, np.nan), F), "error", "NaN or infinite")
    put("nan/xyz_all_inf.xyz", xyz_bytes(np.full((50, 3), np.inf)), "error", "NaN or infinite")
    put("nan/pcd_organized_nan.pcd", pcd_bytes(np.vstack([P, np.full((100, 3), np.nan)])), "ok", "NaN")
    put("nan/stl_nan.stl", stl_binary(Vn, F), "ok", "NaN")
    put("nan/npy_nan.npy", npy_bytes(np.vstack([P, [[np.nan] * 3]])), "ok", "NaN")
    put("nan/overflow_1e400.xyz", b"1e400 0 0\n" + xyz_bytes(P), "ok", "NaN")
    put("nan/huge_coordinates.xyz", xyz_bytes(np.vstack([P * 1e308, [[-1.7e308, 0, 0]]])), "error", "too large")
    put("nan/near_float_limit.xyz", xyz_bytes(rng.uniform(1e307, 9e307, (300, 3)), digits=17), "ok")
    put("nan/far_from_origin.xyz", xyz_bytes(P * 1e-3 + 1e12, digits=17), "error", "precision")

    # degenerate geometry
    put("degenerate/single_point.xyz", b"1 2 3\n", "error", "single point")
    put("degenerate/single_point.ply", ply_bytes(np.array([[1.0, 2, 3]])), "error", "single point")
    put("degenerate/single_point.npy", npy_bytes(np.array([[1.0, 2, 3]])), "error", "single point")
    put("degenerate/same_point_repeated.xyz", xyz_bytes(np.tile([[1.0, 2, 3]], (100, 1))), "error", "coincide")
    put("degenerate/two_points.xyz", b"0 0 0\n1 1 1\n", "error", "")
    line = np.linspace(0, 1, 200)[:, None] * np.array([[1.0, 2, 3]])
    put("degenerate/collinear.xyz", xyz_bytes(line), "error", "one line")
    put("degenerate/collinear.ply", ply_bytes(line), "error", "one line")
    put("degenerate/collinear_mesh.ply", ply_bytes(line, np.array([[0, 1, 2], [2, 3, 4]])), "error", "one line")
    plane = np.c_[rng.uniform(-1, 1, (500, 2)), np.zeros(500)]
    put("degenerate/coplanar_cloud.xyz", xyz_bytes(plane), "ok", "one plane")
    tilted = plane @ np.linalg.qr(rng.normal(size=(3, 3)))[0].T
    put("degenerate/coplanar_tilted.ply", ply_bytes(tilted), "ok", "one plane")
    gx, gy = np.meshgrid(np.linspace(0, 1, 6), np.linspace(0, 1, 6))
    gv = np.c_[gx.ravel(), gy.ravel(), np.zeros(36)]
    gf = np.array([[i * 6 + j, i * 6 + j + 1, (i + 1) * 6 + j] for i in range(5) for j in range(5)])
    put("degenerate/coplanar_mesh.obj", obj_bytes(gv, gf), "ok", "one plane")
    put("degenerate/few_points.xyz", xyz_bytes(P[:6]), "error", "at least")
    zf = F.copy()
    zf[:10, 2] = zf[:10, 1]
    put("degenerate/some_zero_area_faces.ply", ply_bytes(V, zf), "ok", "degenerate face")
    put("degenerate/all_zero_area_faces.ply", ply_bytes(V, np.c_[F[:, 0], F[:, 0], F[:, 1]]), "error", "zero area")
    put(
        "degenerate/sliver_faces.obj",
        obj_bytes(np.vstack([V, [[5, 5, 5], [6, 6, 6], [7, 7, 7]]]), np.vstack([F, [[162, 163, 164]]])),
        "ok",
        "degenerate",
    )
    put("degenerate/duplicated_faces.ply", ply_bytes(V, np.vstack([F, F[:40]])), "ok", "duplicated")
    put("degenerate/double_sided.obj", obj_bytes(V, np.vstack([F, F[:, ::-1]])), "ok", "duplicated")
    put("degenerate/duplicated_vertices.stl", stl_binary(V, F), "ok")
    put("degenerate/all_faces_same.ply", ply_bytes(V, np.tile(F[:1], (50, 1))), "ok", "duplicated")
    put("degenerate/unreferenced_vertices.ply", ply_bytes(np.vstack([V, rng.normal(size=(30, 3))]), F), "ok")
    put("degenerate/inverted_faces.ply", ply_bytes(V, F[:, ::-1]), "ok")

    # non-manifold soups
    soup_v = rng.normal(size=(300, 3))
    put("soup/random_triangles.ply", ply_bytes(soup_v, rng.integers(0, 300, (200, 3))), None)
    put("soup/disjoint_triangles.stl", stl_binary(soup_v, np.arange(300).reshape(100, 3)), "ok")
    fan_v = np.array([[0, 0, 0], [1, 0, 0]] + [[0.5, np.cos(a), np.sin(a)] for a in np.linspace(0, 3, 6)], float)
    put("soup/edge_shared_by_six.obj", obj_bytes(fan_v, np.array([[0, 1, k] for k in range(2, 8)])), "ok")
    bow = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [-1, 0, 0.2], [0, -1, 0.3]], float)
    put("soup/bowtie_vertex.ply", ply_bytes(bow, np.array([[0, 1, 2], [0, 3, 4]])), "ok")
    put(
        "soup/mixed_orientation.ply", ply_bytes(V, np.where((np.arange(len(F)) % 2)[:, None] == 1, F[:, ::-1], F)), "ok"
    )
    put("soup/two_spheres_overlapping.obj", obj_bytes(np.vstack([V, V + 0.5]), np.vstack([F, F + len(V)])), "ok")

    # OBJ oddities
    put("obj/only_vertices.obj", obj_bytes(P), "ok")
    put("obj/two_component_vertex.obj", b"v 1 2\nv 3 4\nv 5 6\nf 1 2 3\n", "error", "line 1: a vertex needs 3")
    put("obj/non_numeric_vertex.obj", b"v 1 abc 3\nv 1 2 3\nv 0 0 1\nf 1 2 3\n", "error", "line 1: vertex coordinates")
    put(
        "obj/slashes.obj",
        obj_bytes(V)
        + b"".join(
            f"f {a + 1}/{a + 1}/{a + 1} {b + 1}/{b + 1}/{b + 1} {c + 1}/{c + 1}/{c + 1}\n".encode() for a, b, c in F
        ),
        "ok",
    )
    put("obj/negative_indices.obj", obj_bytes(V) + b"f -1 -2 -3\nf -4 -5 -6\n", "ok")
    put("obj/mtllib_missing.obj", b"mtllib /nonexistent/dir/x.mtl\nusemtl m\n" + obj_bytes(V, F), "ok")
    put("obj/mtllib_devzero.obj", b"mtllib /dev/zero\nusemtl m\n" + obj_bytes(V, F), "ok")
    put("obj/crlf.obj", obj_bytes(V, F).replace(b"\n", b"\r\n"), "ok")
    put("obj/long_line.obj", b"# " + b"a" * (4 << 20) + b"\n" + obj_bytes(V, F), None)
    put("obj/latin1_garbage.obj", "g caf\xe9\n".encode("latin-1") + obj_bytes(V, F), "ok")
    put("obj/faces_without_vertices.obj", b"f 1 2 3\nf 2 3 4\n", "error", "no vertices")
    put("obj/polygon_faces.obj", obj_bytes(gv) + b"f 1 2 8 7\nf 2 3 9 8 14\n", "ok")

    # STL oddities
    put("stl/count_too_large.stl", stl_binary(V, F, count=len(F) + 10), "error", "truncated")
    put("stl/count_huge.stl", stl_binary(V, F, count=2**32 - 1), "error", "truncated")
    put("stl/count_zero.stl", stl_binary(V, F, count=0), "error", "0 triangles")
    put("stl/trailing_bytes.stl", stl_binary(V, F) + b"\x00" * 37, "ok", "ignored 37 bytes")
    put("stl/solid_header_binary.stl", stl_binary(V, F, header=b"solid but binary"), "ok")
    put("stl/too_short.stl", b"\x00" * 50, "error", "too short")
    put("stl/ascii_no_endsolid.stl", stl_ascii(V, F).replace(b"endsolid corpus\n", b""), "ok", "endsolid")
    put("stl/ascii_bad_number.stl", stl_ascii(V, F).replace(b"vertex", b"vertex x", 1), "error", "not three numbers")
    put("stl/ascii_no_vertices.stl", b"solid nothing\nendsolid nothing\n", "error", "no 'vertex'")
    put("stl/ascii_mid_facet.stl", stl_ascii(V, F)[:5000], "error", "truncated")

    # OFF oddities
    put("off/counts_too_large.off", off_bytes(V, F, counts=(len(V), len(F) + 5)), "error", "truncated")
    put("off/counts_huge.off", off_bytes(V, F, counts=(10**12, 10**12)), "error", "truncated")
    put("off/counts_negative.off", off_bytes(V, F, counts=(-1, 3)), "error", "")
    put("off/counts_missing.off", b"OFF\n", "error", "counts")
    put("off/binary.off", b"OFF BINARY\n" + bytes(64), "error", "binary OFF")
    put("off/4d.off", b"4OFF\n1 0 0\n0 0 0 0\n", "error", "not supported")
    put("off/coff_colors.off", b"COFF\n" + off_bytes(V, F)[4:].replace(b"\n3 ", b" 255 0 0 255\n3 ", 1), None)
    put("off/counts_on_first_line.off", off_bytes(V, F).replace(b"OFF\n", b"OFF ", 1), "ok")
    put("off/face_count_short.off", off_bytes(V, F).replace(b"\n3 ", b"\n7 ", 1), "error", "fewer indices")
    put("off/not_off.off", b"FFO\n1 2 3\n", "error", "not an OFF")

    # GLB/glTF oddities
    put("glb/bad_version.glb", glb_bytes(V, F, version=1), "error", "version 1")
    put("glb/length_too_large.glb", glb_bytes(V, F, length_delta=1000), "error", "truncated")
    put("glb/json_invalid.glb", glb_bytes(V, F).replace(b'"asset"', b'"asset" ,,,'), "error", "JSON")
    put("glb/json_deep.glb", _glb_raw(b"[" * 100000 + b"]" * 100000), "error", "")
    put(
        "glb/draco.glb",
        glb_bytes(V, F, lambda d: d.update(extensionsRequired=["KHR_draco_mesh_compression"])),
        "error",
        "Draco",
    )
    put(
        "glb/accessor_count_huge.glb",
        glb_bytes(V, F, lambda d: d["accessors"][0].update(count=10**9)),
        "error",
        "needs",
    )
    put(
        "glb/view_past_buffer.glb",
        glb_bytes(V, F, lambda d: d["bufferViews"][0].update(byteLength=10**8)),
        "error",
        "past its buffer",
    )
    put("glb/no_meshes.glb", glb_bytes(V, F, lambda d: d.update(meshes=[])), "error", "no meshes")
    put(
        "glb/bad_buffer_index.glb",
        glb_bytes(V, F, lambda d: d["bufferViews"][0].update(buffer=5)),
        "error",
        "does not exist",
    )
    put(
        "gltf/devzero.gltf",
        json.dumps(
            {
                "asset": {"version": "2.0"},
                "meshes": [{"primitives": []}],
                "buffers": [{"uri": "/dev/zero", "byteLength": 100}],
            }
        ).encode(),
        "error",
        "outside",
    )
    put(
        "gltf/parent_folder.gltf",
        json.dumps(
            {
                "asset": {"version": "2.0"},
                "meshes": [{"primitives": []}],
                "buffers": [{"uri": "../../../etc/passwd", "byteLength": 100}],
            }
        ).encode(),
        "error",
        "outside",
    )
    put(
        "gltf/missing_bin.gltf",
        json.dumps(
            {
                "asset": {"version": "2.0"},
                "meshes": [{"primitives": []}],
                "buffers": [{"uri": "nothere.bin", "byteLength": 100}],
            }
        ).encode(),
        "error",
        "missing",
    )
    put("gltf/not_json.gltf", b"{ this is not json", "error", "JSON")

    # text point lists
    put("text/two_columns.xyz", b"1 2\n3 4\n5 6\n", "error", "3 columns")
    put("text/ragged.xyz", xyz_bytes(P[:50]) + b"1 2\n" + xyz_bytes(P[50:]), "error", "columns")
    put("text/word_in_data.xyz", xyz_bytes(P[:50]) + b"1 two 3\n" + xyz_bytes(P[50:]), "error", "not numeric")
    put("text/header_only.csv", b"x,y,z\n", "error", "no points")
    put("text/comments_only.xyz", b"# nothing\n// nothing\n", "error", "no points")
    put("text/semicolons.txt", xyz_bytes(P, None, ";"), "ok")
    put("text/commas_in_xyz.xyz", xyz_bytes(P, None, ","), "ok")
    put("text/pts_with_count.pts", f"{len(P)}\n".encode() + xyz_bytes(P), "ok")
    put("text/xyzn_normals.xyzn", xyz_bytes(P, PN), "ok")
    put("text/tabs_crlf.txt", xyz_bytes(P, None, "\t").replace(b"\n", b"\r\n"), "ok")
    put("text/one_long_line.xyz", b"1 " * (2 << 20), "error", "longer than")
    put("text/binary_in_xyz.xyz", xyz_bytes(P[:100]) + bytes(range(256)) * 4, "error", "")
    put("text/utf16.xyz", "\n".join(" ".join(f"{x:.4f}" for x in r) for r in P).encode("utf-16"), "error", "")

    # PCD oddities
    put("pcd/points_mismatch.pcd", pcd_bytes(P, PN, "binary", points=len(P) + 100), "error", "truncated")
    put("pcd/points_huge.pcd", pcd_bytes(P, PN, "binary", points=10**11), "error", "truncated")
    put("pcd/width_height_mismatch.pcd", pcd_bytes(P).replace(b"HEIGHT 1", b"HEIGHT 3"), "error", "WIDTH x HEIGHT")
    put("pcd/no_fields.pcd", b"VERSION 0.7\nPOINTS 1\nDATA ascii\n1 2 3\n", "error", "FIELDS")
    put("pcd/no_x.pcd", pcd_bytes(P).replace(b"FIELDS x y z", b"FIELDS a y z"), "error", "'x'")
    put("pcd/size_type_mismatch.pcd", pcd_bytes(P).replace(b"SIZE 4 4 4", b"SIZE 4 4"), "error", "different lengths")
    put("pcd/bad_type.pcd", pcd_bytes(P).replace(b"TYPE F F F", b"TYPE Q F F"), "error", "unsupported type")
    put("pcd/unknown_data.pcd", pcd_bytes(P).replace(b"DATA ascii", b"DATA rle"), "error", "DATA")
    put(
        "pcd/compressed_bad_sizes.pcd",
        _pcd_compressed_patch(pcd_bytes(P, None, "binary_compressed"), usize=123),
        "error",
        "uncompressed",
    )
    put(
        "pcd/compressed_corrupt_stream.pcd",
        _pcd_compressed_corrupt(pcd_bytes(P, None, "binary_compressed")),
        "error",
        "corrupt",
    )
    put("pcd/ascii_short.pcd", pcd_bytes(P)[:-2000], "error", "")
    put("pcd/padding_fields.pcd", _pcd_padded(P), "ok")
    put("pcd/no_header_end.pcd", b"# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\n", "error", "no DATA")

    # numpy files
    put("numpy/object_array.npy", npy_bytes(np.array([{"a": 1}, None], dtype=object)), "error", "Python objects")
    put("numpy/one_dimensional.npy", npy_bytes(np.arange(30.0)), "error", "N x 3")
    put("numpy/four_columns.npy", npy_bytes(np.ones((10, 4))), "error", "N x 3")
    put("numpy/complex.npy", npy_bytes(np.ones((10, 3), complex)), "error", "N x 3")
    put("numpy/strings.npy", npy_bytes(np.array([["a", "b", "c"]] * 20)), "error", "N x 3")
    put("numpy/huge_shape_header.npy", _npy_header_only((10**12, 3)), "error", "truncated")
    put("numpy/npz_no_points.npz", npz_bytes(colors=P, other=P), "error", "no 'points'")
    put("numpy/npz_object.npz", npz_bytes(points=np.array([None, 1], dtype=object)), "error", "objects")
    put("numpy/npz_bomb_header.npz", _npz_with_member("points.npy", _npy_header_only((10**11, 3))), "error", "")
    put("numpy/xyz6.npy", npy_bytes(np.hstack([P, PN])), "ok")
    put("numpy/int_points.npy", npy_bytes((P * 100).astype(np.int32)), "ok")

    # images: for `inrview image`, and refused by the shape loader
    rgb = (rng.random((64, 80, 3)) * 255).astype(np.uint8)
    grey = rgb[..., 0]
    rgba = np.dstack([rgb, (rng.random((64, 80)) * 255).astype(np.uint8)])
    images = {
        "rgb.png": png_bytes(rgb),
        "grey.png": png_bytes(grey),
        "rgba.png": png_bytes(rgba),
        "grey_alpha.png": png_bytes(np.dstack([grey, grey])),
        "grey16.png": png_bytes(grey.astype(np.uint16) * 257, 16),
        "rgb16.png": png_bytes(rgb.astype(np.uint16) * 257, 16),
        "rgba16.png": png_bytes(rgba.astype(np.uint16) * 257, 16),
        "one_pixel.png": png_bytes(rgb[:1, :1]),
        "palette.png": _palette_png(rgb),
        "rgb.jpg": pil_bytes(rgb, "JPEG"),
        "grey.jpg": pil_bytes(grey, "JPEG"),
        "one_pixel.jpg": pil_bytes(rgb[:1, :1], "JPEG"),
        "cmyk.jpg": _cmyk_jpeg(rgb),
        "rgb.tif": pil_bytes(rgb, "TIFF"),
        "grey16.tif": pil_bytes(grey.astype(np.uint16) * 257, "TIFF"),
        "float32.tif": pil_bytes(grey.astype(np.float32) / 255, "TIFF"),
        "rgba.tif": pil_bytes(rgba, "TIFF"),
        "rgb.bmp": pil_bytes(rgb, "BMP"),
        "grey.bmp": pil_bytes(grey, "BMP"),
        "one_pixel.bmp": pil_bytes(rgb[:1, :1], "BMP"),
    }
    for name, data in images.items():
        put(f"image/{name}", data, "ok", kind="image", group="image")
        stem, ext = name.rsplit(".", 1)
        if name in ("rgb.png", "rgb.jpg", "rgb.tif", "rgb.bmp", "rgb16.png"):
            for tag, cut in truncations(data).items():
                put(f"image_truncated/{stem}_{tag}.{ext}", cut, None, kind="image")
            for tag, bad in corruptions(data, rng).items():
                put(f"image_corrupted/{stem}_{tag}.{ext}", bad, None, kind="image")
        put(f"image_shape_loader/{stem}_as_shape.{ext}", data, "error", "image", group="image_shape_loader")
    for ext in ("png", "jpg", "tif", "bmp"):
        put(f"image_bad/empty.{ext}", b"", "error", kind="image")
        put(f"image_bad/random.{ext}", rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(), "error", kind="image")
    put("image_bad/png_named.jpg", images["rgb.png"], None, kind="image")
    put("image_bad/jpeg_named.png", images["rgb.jpg"], None, kind="image")
    put("image_bad/ply_named.png", valid["ply_binary.ply"], "error", kind="image")
    put("image_bad/bmp_huge_dims.bmp", _bmp_header(100_000, 100_000), "error", kind="image")
    put(
        "image_bad/png_huge_dims_header_only.png",
        _png(50_000, 50_000, 8, 2, zlib.compress(b"\x00" * 10)),
        "error",
        kind="image",
    )
    put("image_bad/png_bad_crc.png", images["rgb.png"][:40] + b"\x00\x00" + images["rgb.png"][42:], None, kind="image")
    if big:
        cloud = root / "big" / "ten_million.ply"
        cloud.parent.mkdir(exist_ok=True)
        _write_big_cloud(cloud, BIG_POINTS)
        cases.append(Case("big/ten_million.ply", str(cloud), "shape", "ok", "subsampled 10000000 points", "big"))
        npyc = root / "big" / "ten_million.npy"
        _write_big_npy(npyc, BIG_POINTS)
        cases.append(Case("big/ten_million.npy", str(npyc), "shape", "ok", "subsampled 10000000 points", "big"))
        huge = root / "big" / "huge_20000x20000.png"
        huge_png(huge)
        cases.append(Case("big/huge_20000x20000.png", str(huge), "image", None, "", "big"))
        cases.append(Case("big/huge_20000x20000_as_shape.png", str(huge), "shape", "error", "PNG image", "big"))
    folder_case = root / "not_a_file.ply"
    folder_case.mkdir(exist_ok=True)
    cases.append(Case("not_a_file.ply", str(folder_case), "shape", "error", "folder", "special"))
    cases.append(Case("missing.ply", str(root / "missing.ply"), "shape", "error", "not found", "special"))
    (root / "manifest.json").write_text(json.dumps([asdict(c) for c in cases], indent=1))
    return cases


def _glb_raw(js: bytes) -> bytes:
    js += b" " * (-len(js) % 4)
    body = struct.pack("<II", len(js), 0x4E4F534A) + js
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


def _pcd_compressed_patch(data: bytes, usize: int) -> bytes:
    i = data.index(b"DATA binary_compressed\n") + len(b"DATA binary_compressed\n")
    csize, _ = struct.unpack("<II", data[i : i + 8])
    return data[:i] + struct.pack("<II", csize, usize) + data[i + 8 :]


def _pcd_compressed_corrupt(data: bytes) -> bytes:
    i = data.index(b"DATA binary_compressed\n") + len(b"DATA binary_compressed\n") + 8
    b = bytearray(data)
    b[i] = 0xFF  # a back-reference before the start of the output
    b[i + 1] = 0xFF
    return bytes(b)


def _pcd_padded(p) -> bytes:
    cols = np.hstack([p, np.zeros((len(p), 2))]).astype("<f4")
    h = (
        "VERSION 0.7\nFIELDS x y z _ _\nSIZE 4 4 4 4 4\nTYPE F F F F F\nCOUNT 1 1 1 1 1\n"
        f"WIDTH {len(p)}\nHEIGHT 1\nPOINTS {len(p)}\nDATA binary\n"
    )
    return h.encode() + cols.tobytes()


def _npy_header_only(shape) -> bytes:
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(b, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return b.getvalue() + bytes(64)


def _npz_with_member(name: str, data: bytes) -> bytes:
    import zipfile

    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr(name, data)
    return b.getvalue()


def _bmp_header(w: int, h: int) -> bytes:
    row = (w * 3 + 3) // 4 * 4
    size = 54 + row * h
    return (
        b"BM"
        + struct.pack("<IHHI", size & 0xFFFFFFFF, 0, 0, 54)
        + struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, (row * h) & 0xFFFFFFFF, 2835, 2835, 0, 0)
        + bytes(64)
    )


def _palette_png(rgb) -> bytes:
    from PIL import Image

    b = io.BytesIO()
    Image.fromarray(rgb).convert("P").save(b, "PNG")
    return b.getvalue()


def _cmyk_jpeg(rgb) -> bytes:
    from PIL import Image

    b = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(b, "JPEG")
    return b.getvalue()


def _write_big_cloud(path: Path, n: int) -> None:
    """n points on a noisy sphere as binary PLY (float32), written in blocks."""
    if path.exists() and path.stat().st_size > n * 12:
        return
    rng = np.random.default_rng(1)
    with open(path, "wb") as fh:
        fh.write(
            f"ply\nformat binary_little_endian 1.0\nelement vertex {n}\nproperty float x\n"
            "property float y\nproperty float z\nend_header\n".encode()
        )
        for s in range(0, n, 1_000_000):
            p = rng.normal(size=(min(1_000_000, n - s), 3)).astype(np.float32)
            p /= np.linalg.norm(p, axis=1, keepdims=True)
            fh.write(p.tobytes())


def _write_big_npy(path: Path, n: int) -> None:
    if path.exists() and path.stat().st_size > n * 12:
        return
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, 3))
    rng = np.random.default_rng(2)
    for s in range(0, n, 1_000_000):
        p = rng.normal(size=(min(1_000_000, n - s), 3)).astype(np.float32)
        arr[s : s + len(p)] = p / np.linalg.norm(p, axis=1, keepdims=True)
    arr.flush()
    del arr


# -- the worker -----------------------------------------------------------------------------------------
def worker() -> None:
    """Load the files named on stdin (one JSON request a line) and answer one JSON line each on stdout.

    Each request: {"path": ..., "kind": "shape"|"image"}. Each answer: how the loader ended ('ok' with
    counts and notices, 'error' with the LoadError message, or 'unexpected' with the exception type: a
    bug), and what the command line printed and returned for the same file, run in this process.
    """
    import contextlib
    import time
    import traceback

    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the answers
    import inrview
    from inrview import cli
    from inrview.errors import LoadError

    try:
        from inrview.io.image import load_image
    except ImportError:  # the image package is not there yet
        load_image = None
    _reset_peak()
    out.write(json.dumps({"ready": True, "rss": _rss()}) + "\n")
    for line in sys.stdin:
        req = json.loads(line)
        path, kind = req["path"], req["kind"]
        ans = {"path": path}
        t0 = time.perf_counter()
        try:
            if kind == "image":
                if load_image is None:
                    ans.update(status="skipped")
                else:
                    img = load_image(path)
                    ans.update(status="ok", shape=list(img.pixels.shape), notices=list(img.notices))
            else:
                g = inrview.load(path)
                ans.update(
                    status="ok",
                    kind=g.kind,
                    vertices=len(g.vertices),
                    faces=0 if g.faces is None else len(g.faces),
                    notices=list(g.notices),
                    finite=bool(np.isfinite(g.vertices).all()),
                    faces_ok=bool(g.faces is None or (g.faces.min() >= 0 and g.faces.max() < len(g.vertices))),
                )
        except LoadError as e:
            ans.update(status="error", message=str(e))
        except BaseException as e:  # noqa: BLE001 - anything else is the bug this corpus hunts
            ans.update(
                status="unexpected", error=type(e).__name__, message=str(e)[:300], trace=traceback.format_exc()[-1500:]
            )
        ans["seconds"] = time.perf_counter() - t0
        argv = None
        if kind == "shape":
            argv = ["info", path]
        elif ans["status"] == "error":  # a bad image: `inrview image fit` must stop at loading it
            argv = [
                "image",
                "fit",
                path,
                "-o",
                os.path.join(os.path.dirname(path) or ".", "_never_written.png"),
                "--steps",
                "1",
            ]
        if argv:
            err, std = io.StringIO(), io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
                try:
                    rc = cli.main(argv)
                except SystemExit as e:
                    rc = e.code if isinstance(e.code, int) else 1
                except BaseException as e:  # noqa: BLE001
                    rc = f"raised {type(e).__name__}: {str(e)[:200]}"
            ans.update(cli_rc=rc, cli_stderr=err.getvalue())
        ans["maxrss"] = _maxrss()
        out.write(json.dumps(ans) + "\n")


def _rss() -> int:
    """Resident memory of this process now, in bytes."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return _maxrss()


def _reset_peak() -> None:
    """Start the peak-memory count afresh. A child forked from a large process (pytest after the app
    tests) inherits that process's high-water mark, which would otherwise be reported as its own."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _maxrss() -> int:
    """Peak resident memory of this process since _reset_peak, in bytes."""
    import resource

    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        worker()
    else:
        target = sys.argv[1] if len(sys.argv) > 1 else "/tmp/inrview_corpus"
        cs = generate(target, big="--small" not in sys.argv)
        print(f"{len(cs)} files in {target}")
