"""GLB and GLTF through trimesh, after checks trimesh does not make: GLB chunk sizes against the file,
glTF buffer references confined to the file's folder (never /dev/zero, a pipe or another folder), Draco
compression named instead of failing obscurely, and memory estimated before parsing."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from ..errors import LoadError
from .geometry import Geometry
from .limits import check_memory

MAX_JSON_BYTES = 64 << 20


def read_scene(p: Path, fmt: str) -> Geometry:
    """Read a GLB or glTF file (fmt 'glb' or 'gltf') at p as Geometry: a scene's meshes concatenated
    (float64 vertices, faces, vertex normals when the file has them), or its first point cloud. Raises
    LoadError."""
    import trimesh  # deferred: trimesh takes about a second to import

    size = p.stat().st_size
    if fmt == "glb":
        _check_glb(p, size)
        check_memory(p, size * 6)
    elif fmt == "gltf":
        _check_gltf(p, size)
        check_memory(p, size * 8)
    else:
        check_memory(p, size * 25)  # trimesh's OBJ parser holds the text, tokens and arrays at once
    if fmt == "gltf":
        loaded = trimesh.load(str(p), file_type=fmt, process=False)  # needs a resolver for its .bin files
    else:
        with open(p, "rb") as fh:
            loaded = trimesh.load(fh, file_type=fmt, process=False)
    if isinstance(loaded, trimesh.Scene):
        geoms = [g for g in loaded.dump() if isinstance(g, (trimesh.Trimesh, trimesh.PointCloud))]
        meshes = [g for g in geoms if isinstance(g, trimesh.Trimesh) and len(g.faces)]
        if meshes:
            loaded = trimesh.util.concatenate(meshes) if len(meshes) > 1 else meshes[0]
        elif geoms:
            loaded = geoms[0]
        else:
            raise LoadError(p, "the file contains no mesh or points")
    if isinstance(loaded, trimesh.Trimesh):
        v = np.asarray(loaded.vertices, dtype=np.float64)
        f = np.asarray(loaded.faces)
        if len(f) == 0:
            return Geometry(v, None, None)
        normals = None
        if "vertex_normals" in loaded._cache.cache:
            normals = np.asarray(loaded.vertex_normals, dtype=np.float64)
        return Geometry(v, f, normals)
    if isinstance(loaded, trimesh.PointCloud):
        return Geometry(np.asarray(loaded.vertices, dtype=np.float64), None, None)
    raise LoadError(p, f"no mesh or point cloud found (got {type(loaded).__name__})")


def _check_glb(p: Path, size: int) -> None:
    with open(p, "rb") as fh:
        head = fh.read(20)
        if len(head) < 20:
            raise LoadError(p, f"GLB file is truncated ({size} bytes; the header needs 20)")
        magic, version, length, jlen, jtype = struct.unpack("<4sIIII", head)
        if magic != b"glTF":
            raise LoadError(p, "not a GLB file (no 'glTF' signature)")
        if version != 2:
            raise LoadError(p, f"GLB version {version} is not supported (only glTF 2.0)")
        if length > size:
            raise LoadError(p, f"GLB file is truncated: its header says {length} bytes, the file has {size}")
        if jtype != 0x4E4F534A:
            raise LoadError(p, "GLB file's first chunk is not JSON")
        if jlen > min(length - 20, MAX_JSON_BYTES):
            raise LoadError(p, f"GLB JSON chunk of {jlen} bytes does not fit in the file")
        doc = _json(p, fh.read(jlen))
        off = 20 + jlen
        bin_len = 0
        if off + 8 <= length:
            fh.seek(off)
            clen, _ = struct.unpack("<II", fh.read(8))
            if off + 8 + clen > length:
                raise LoadError(p, f"GLB binary chunk of {clen} bytes runs past the end of the file")
            bin_len = clen
    _check_doc(p, doc, [bin_len])


def _check_gltf(p: Path, size: int) -> None:
    if size > MAX_JSON_BYTES * 4:
        raise LoadError(p, f"glTF JSON file is {size / 1024**2:.0f} MiB: too large")
    doc = _json(p, p.read_bytes())
    lengths = []
    for i, buf in enumerate(doc.get("buffers") or []):
        uri = buf.get("uri") if isinstance(buf, dict) else None
        if not isinstance(uri, str):
            raise LoadError(p, f"glTF buffer {i} has no uri")
        if uri.startswith("data:"):
            lengths.append(None)
            continue
        target = (p.parent / uri).resolve()
        if p.parent.resolve() not in target.parents:
            raise LoadError(p, f"glTF buffer {i} refers to {uri[:80]!r}, outside the file's folder")
        if not target.is_file():
            raise LoadError(p, f"glTF buffer {i}: {uri[:80]!r} is missing or not a regular file")
        lengths.append(target.stat().st_size)
    _check_doc(p, doc, lengths)


def _json(p: Path, raw: bytes) -> dict:
    try:
        doc = json.loads(raw.decode("utf-8").rstrip("\x00 "))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise LoadError(p, f"glTF JSON is invalid ({str(e).splitlines()[0][:100]})") from None
    if not isinstance(doc, dict):
        raise LoadError(p, "glTF JSON is not an object")
    return doc


def _check_doc(p: Path, doc: dict, buffer_lengths: list) -> None:
    required = doc.get("extensionsRequired") or []
    if "KHR_draco_mesh_compression" in required:
        raise LoadError(p, "uses Draco mesh compression, which inrview cannot read (export without Draco)")
    if "EXT_meshopt_compression" in required:
        raise LoadError(p, "uses meshopt compression, which inrview cannot read (export without it)")
    if not doc.get("meshes"):
        raise LoadError(p, "the glTF document has no meshes")
    views = doc.get("bufferViews") or []
    sizes = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
    widths = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
    for i, acc in enumerate(doc.get("accessors") or []):
        if not isinstance(acc, dict):
            raise LoadError(p, f"glTF accessor {i} is not an object")
        count, view = acc.get("count", 0), acc.get("bufferView")
        if not isinstance(count, int) or count < 0:
            raise LoadError(p, f"glTF accessor {i} has a bad count {str(count)[:20]!r}")
        if view is None:
            continue
        if not isinstance(view, int) or not 0 <= view < len(views) or not isinstance(views[view], dict):
            raise LoadError(p, f"glTF accessor {i} refers to bufferView {view!r}, which does not exist")
        need = count * sizes.get(acc.get("componentType"), 4) * widths.get(acc.get("type"), 1)
        have = views[view].get("byteLength", 0)
        if isinstance(have, int) and need > have:
            raise LoadError(p, f"glTF accessor {i} needs {need} bytes, its bufferView holds {have}")
    for i, view in enumerate(views):
        if not isinstance(view, dict):
            raise LoadError(p, f"glTF bufferView {i} is not an object")
        b = view.get("buffer", 0)
        end = int(view.get("byteOffset", 0) or 0) + int(view.get("byteLength", 0) or 0)
        if not isinstance(b, int) or not 0 <= b < max(len(buffer_lengths), 1):
            raise LoadError(p, f"glTF bufferView {i} refers to buffer {b!r}, which does not exist")
        have = buffer_lengths[b] if b < len(buffer_lengths) else 0
        if have is not None and end > have:
            raise LoadError(p, f"glTF bufferView {i} ends at byte {end}, past its buffer's {have} bytes")
