"""Signed distances and occupancy for meshes, with one convention everywhere: negative inside.

Unsigned distance comes from Open3D's raycasting scene (exact, fast); the sign comes from ray parity
(Open3D occupancy) on watertight meshes and from the generalised winding number (libigl's fast winding
number, Jacobson et al. 2013 / Barill et al. 2018) on open or non-manifold meshes, where parity fails.
"""
from __future__ import annotations

import numpy as np

from ..io.geometry import is_watertight

CHUNK = 262_144


class MeshDistance:
    """Distance queries against one triangle mesh (coordinates in any consistent units).

    sign: 'auto' picks parity for watertight meshes and the winding number otherwise; 'winding' and
    'parity' force one.
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, sign: str = "auto"):
        import open3d as o3d

        self.vertices = np.ascontiguousarray(vertices, dtype=np.float64)
        self.faces = np.ascontiguousarray(faces, dtype=np.int64)
        self.watertight = is_watertight(self.faces)
        self.sign_method = ("parity" if self.watertight else "winding") if sign == "auto" else sign
        self._scene = o3d.t.geometry.RaycastingScene()
        self._scene.add_triangles(o3d.core.Tensor(self.vertices.astype(np.float32)),
                                  o3d.core.Tensor(self.faces.astype(np.uint32)))
        self._o3d = o3d

    def _chunks(self, q: np.ndarray, fn) -> np.ndarray:
        q = np.asarray(q, dtype=np.float64)
        out = np.empty(len(q), dtype=np.float64)
        for s in range(0, len(q), CHUNK):
            out[s:s + CHUNK] = fn(q[s:s + CHUNK])
        return out

    def unsigned(self, q: np.ndarray) -> np.ndarray:
        """(N,) distance from each query to the surface."""
        return self._chunks(q, lambda c: self._scene.compute_distance(
            self._o3d.core.Tensor(c.astype(np.float32))).numpy())

    def inside(self, q: np.ndarray) -> np.ndarray:
        """(N,) bool: True inside the shape."""
        if self.sign_method == "winding":
            import igl

            return self._chunks(q, lambda c: igl.fast_winding_number(self.vertices, self.faces,
                                                                     np.ascontiguousarray(c))) > 0.5
        return self._chunks(q, lambda c: self._scene.compute_occupancy(
            self._o3d.core.Tensor(c.astype(np.float32)), nsamples=1).numpy()) > 0.5

    def signed(self, q: np.ndarray) -> np.ndarray:
        """(N,) signed distance, negative inside."""
        d = self.unsigned(q)
        return np.where(self.inside(q), -d, d)

    def closest(self, q: np.ndarray) -> np.ndarray:
        """(N, 3) closest surface points."""
        res = self._scene.compute_closest_points(self._o3d.core.Tensor(np.asarray(q, dtype=np.float32)))
        return res["points"].numpy().astype(np.float64)
