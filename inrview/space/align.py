"""Collections that are not aligned: every shape moved onto a template chosen from the collection, by rigid
(or similarity) ICP, before the space is trained; the transforms are recorded so that each shape can be
given back in its file's own frame.

The template is the member whose bounding-box extents are nearest the collection's median extents (a
typical shape, cheap to find). Each member starts with its centroid on the template's and is refined by
ICP on surface samples (closest template point, Umeyama's solve); members arrive roughly oriented alike
(scanner axes), so the identity rotation is the start.
"""

from __future__ import annotations

import igl
import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation, Slerp

from ..io.collection import Collection, bounds_of, normalizations
from ..io.geometry import Geometry
from ..io.members import Member, Shapes, moved
from ..io.surface import sample_surface
from .ssm import _procrustes

#: Surface samples per shape and ICP iterations.
SAMPLES, ITERATIONS = 2000, 80


def template_index(shapes: list[Member] | list[Geometry]) -> int:
    """The member whose sorted bounding-box extents are nearest the median extents."""
    ext = np.sort(np.stack([np.ptp(bounds_of(g), axis=0) for g in shapes]), axis=1)
    return int(np.linalg.norm(ext - np.median(ext, axis=0), axis=1).argmin())


def icp(
    src: np.ndarray, dst: np.ndarray, scale: bool = False, iterations: int = ITERATIONS, mesh: Geometry | None = None
) -> np.ndarray:
    """4x4 similarity (rigid unless scale) taking points src (N, 3) onto points dst (M, 3), or onto the
    surface of mesh when given (closest points on its triangles: no sampling error)."""
    tree = cKDTree(dst)
    s, R, t = 1.0, np.eye(3), dst.mean(axis=0) - src.mean(axis=0)
    for _ in range(iterations):
        moved = s * src @ R.T + t
        if mesh is not None:
            closest = igl.point_mesh_squared_distance(moved, mesh.vertices, mesh.faces)[2]
        else:
            closest = dst[tree.query(moved)[1]]
        s, R, t = _procrustes(src, closest, scale)
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = s * R, t
    return T


def _points(g: Geometry, rng) -> np.ndarray:
    if g.is_mesh:
        return sample_surface(g.vertices, g.faces, SAMPLES, rng)[0]
    return g.vertices[rng.choice(len(g.vertices), min(SAMPLES, len(g.vertices)), replace=False)]


def align_collection(col: Collection, mode: str = "rigid", seed: int = 0) -> Collection:
    """The collection with every shape moved onto the template (mode 'rigid' or 'similarity'), normalised
    again in the template's frame; col.alignment records the template and each file's 4x4 transform (file
    frame to template frame). Shapes are taken in world units (the collection's normalisation undone), read
    one at a time (the template's and one member's arrays at most are held), and the result holds none."""
    rng = np.random.default_rng(seed)
    members = col.shapes.members
    k = template_index(members)
    template = members[k].world()
    target = _points(template, rng)
    transforms, placed = [], []
    for i, m in enumerate(members):
        g = template if i == k else m.world()
        T = np.eye(4) if i == k else icp(_points(g, rng), target, mode == "similarity", mesh=_mesh(template))
        transforms.append(T)
        v = moved(g, T).vertices
        total = T if m.transform is None else T @ np.asarray(m.transform)
        placed.append(m.with_transform(total, v.min(axis=0), v.max(axis=0)))
    norms = normalizations(placed, col.normalise)
    alignment = {"mode": mode, "template": col.names[k], "transforms": [T.tolist() for T in transforms]}
    shapes = Shapes(placed, norms)
    return Collection(col.names, col.sources, shapes, col.kind, col.normalise, norms, col.notices, alignment)


def shared_connectivity(shapes: Shapes) -> bool:
    """Whether the members are meshes with one and the same triangle list (vertex i of each is vertex i of
    every other): a collection in correspondence, every shape a deformation of one mesh. Members are read
    until the first that differs (two reads for most collections)."""
    first = None
    for m in shapes.members:
        g = m.world()
        if not g.is_mesh:
            return False
        faces = np.asarray(g.faces)
        if first is None:
            first = faces
        elif faces.shape != first.shape or not np.array_equal(faces, first):
            return False
    return len(shapes.members) > 1


def _mesh(g: Geometry) -> Geometry | None:
    return g if g.is_mesh else None


def to_file_frame(vertices: np.ndarray, alignment: dict, index: int) -> np.ndarray:
    """Vertices (V, 3) in the template's frame (world units) mapped back into member index's file frame."""
    T = np.asarray(alignment["transforms"][index])
    return (np.asarray(vertices) - T[:3, 3]) @ np.linalg.inv(T[:3, :3]).T


def between_file_frames(vertices: np.ndarray, alignment: dict, a: int, b: int, t: float) -> np.ndarray:
    """Vertices (V, 3) in the template's frame mapped into a frame between member a's (t = 0) and member
    b's (t = 1): the inverse similarities blended (rotation by slerp, scale and translation linearly), so a
    morph from a to b starts on a's file and ends on b's."""
    parts = [_similarity(np.linalg.inv(np.asarray(alignment["transforms"][i]))) for i in (a, b)]
    (sa, Ra, ta), (sb, Rb, tb) = parts
    R = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([Ra, Rb])))([t]).as_matrix()[0]
    s, shift = (1 - t) * sa + t * sb, (1 - t) * ta + t * tb
    return s * np.asarray(vertices, np.float64) @ R.T + shift


def _similarity(T: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(scale, rotation (3, 3), translation (3,)) of a 4x4 similarity."""
    s = float(np.cbrt(np.linalg.det(T[:3, :3])))
    return s, T[:3, :3] / s, T[:3, 3]
