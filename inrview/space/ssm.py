"""The statistical shape model of a collection in vertex correspondence (the baseline a shape space must
beat): mean plus principal modes of the training meshes, fitted to a scan by iterating closest points on
the model surface, a ridge-regularised least-squares solve for the mode weights and a rigid pose
(Procrustes), as ShapeWorks, Scalismo and statismo do.

>>> model = ShapeModel.build([v0, v1, ...], faces)   # (V, 3) each, one shared topology
>>> fitted = model.fit(points)                      # a scan in any frame near the model's
>>> fitted.vertices, model.faces                    # the completed surface, in the scan's frame
"""

from __future__ import annotations

from dataclasses import dataclass

import igl
import numpy as np

#: Ridge weight on the mode weights (in standard deviations) against the mean squared closest-point
#: distance, in units of the model's longest side squared.
RIDGE = 1e-7


@dataclass(frozen=True)
class ShapeFit:
    """A fitted model: vertices (V, 3) in the scan's frame, weights (K,) in standard deviations, the pose
    (rotation (3, 3), translation (3,), scale) mapping model to scan, and the mean closest-point distance."""

    vertices: np.ndarray
    weights: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    scale: float
    residual: float


@dataclass(frozen=True)
class ShapeModel:
    """mean (V, 3), modes (K, V, 3) orthonormal, sigma (K,) standard deviation of each mode, faces (M, 3)."""

    mean: np.ndarray
    modes: np.ndarray
    sigma: np.ndarray
    faces: np.ndarray

    @staticmethod
    def build(shapes: list[np.ndarray], faces: np.ndarray, variance: float = 1.0) -> ShapeModel:
        """PCA of the vertex positions of meshes in correspondence, keeping the modes that explain
        `variance` of the total."""
        X = np.stack([np.asarray(s, np.float64).reshape(-1) for s in shapes])
        mean = X.mean(axis=0)
        _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
        var = s**2 / max(len(shapes) - 1, 1)
        k = int(np.searchsorted(np.cumsum(var) / var.sum(), variance) + 1)
        k = min(k, len(var))
        return ShapeModel(mean.reshape(-1, 3), vt[:k].reshape(k, -1, 3), np.sqrt(var[:k]), np.asarray(faces))

    def instance(self, weights: np.ndarray) -> np.ndarray:
        """(V, 3) vertices of the shape with mode weights (K,) in standard deviations."""
        return self.mean + np.tensordot(weights * self.sigma, self.modes, axes=1)

    def fit(
        self, points: np.ndarray, iterations: int = 40, ridge: float = RIDGE, pose: bool = True, scale: bool = False
    ) -> ShapeFit:
        """Fit to points (N, 3): alternately the closest model-surface point of every scan point, the pose
        (rigid, or similarity with scale=True) and the ridge solve for the weights."""
        q = np.asarray(points, np.float64)
        k = len(self.sigma)
        w, R, t, s = np.zeros(k), np.eye(3), np.zeros(3), 1.0
        res = np.inf
        for it in range(iterations):
            v = self.instance(w)
            local = (q - t) @ R / s  # scan points in the model's frame
            d2, face, closest = igl.point_mesh_squared_distance(local, v, self.faces)
            res = float(np.sqrt(d2).mean()) * s
            if pose and it < iterations - 1:
                s_new, R, t = _procrustes(closest, q, scale)
                s = s_new if scale else 1.0
                local = (q - t) @ R / s
            bary = _barycentric(closest, v, self.faces[face])
            w = self._solve(local, face, bary, ridge)
        v = self.instance(w)
        return ShapeFit(v @ R.T * s + t, w, R, t, s, res)

    def _solve(self, local: np.ndarray, face: np.ndarray, bary: np.ndarray, ridge: float) -> np.ndarray:
        """Ridge least squares for the weights: sum_i ||sum_j b_ij (mean + P w)_{f_ij} - y_i||^2 / N +
        ridge * side^2 * ||w||^2, with P the modes times sigma and side the mean's longest side."""
        corners = self.faces[face]  # (N, 3)
        base = np.einsum("nj,njc->nc", bary, self.mean[corners])
        P = self.modes * self.sigma[:, None, None]  # (K, V, 3)
        A = np.einsum("nj,knjc->nck", bary, P[:, corners])  # (N, 3, K)
        A = A.reshape(-1, len(self.sigma))
        b = (local - base).reshape(-1)
        n = len(local)
        size2 = float(np.ptp(self.mean, axis=0).max()) ** 2
        lhs = A.T @ A / n + ridge * size2 * np.eye(A.shape[1])
        return np.linalg.solve(lhs, A.T @ b / n)


def _barycentric(p: np.ndarray, v: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """(N, 3) barycentric coordinates of points p (N, 3) on triangles v[tri] (N, 3)."""
    a, b, c = v[tri[:, 0]], v[tri[:, 1]], v[tri[:, 2]]
    v0, v1, v2 = b - a, c - a, p - a
    d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
    d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
    den = np.where(np.abs(d00 * d11 - d01 * d01) > 1e-30, d00 * d11 - d01 * d01, 1e-30)
    y = (d11 * d20 - d01 * d21) / den
    z = (d00 * d21 - d01 * d20) / den
    return np.stack([1 - y - z, y, z], axis=1)


def _procrustes(src: np.ndarray, dst: np.ndarray, with_scale: bool) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale s, rotation R and translation t minimising ||s R src + t - dst||^2 (Umeyama 1991)."""
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - ms, dst - md
    u, sv, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt))
    D = np.diag([1.0, 1.0, d])
    R = u @ D @ vt
    s = float((sv * np.diag(D)).sum() / (a**2).sum()) if with_scale else 1.0
    return s, R, md - s * R @ ms
