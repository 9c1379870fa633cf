"""A mesh rendered by casting one camera ray per pixel against it (Open3D's RaycastingScene): no OpenGL,
no display, the same picture on any machine."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: eye and center (3,) in the mesh's units, up (3,), vertical field of view in degrees."""

    eye: tuple[float, float, float]
    center: tuple[float, float, float]
    up: tuple[float, float, float] = (0.0, 1.0, 0.0)
    fov_deg: float = 35.0


def orbit_camera(
    lo: np.ndarray,
    hi: np.ndarray,
    azimuth_deg: float = 145.0,
    elevation_deg: float = 20.0,
    fov_deg: float = 35.0,
    up: tuple[float, float, float] = (0.0, 1.0, 0.0),
) -> Camera:
    """A camera looking at the centre of the box lo..hi (each (3,)) from azimuth_deg around the up axis
    (y) and elevation_deg above the horizon, far enough for the box's bounding sphere to fit the view."""
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    center = (lo + hi) / 2
    radius = max(float(np.linalg.norm(hi - lo)) / 2, 1e-9)
    dist = 1.05 * radius / math.sin(math.radians(fov_deg) / 2)
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    direction = np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    return Camera(tuple(map(float, center + dist * direction)), tuple(map(float, center)), up, fov_deg)


def render_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    size: tuple[int, int] = (400, 320),
    camera: Camera | None = None,
    color=(0.72, 0.78, 0.88),
    background=(1.0, 1.0, 1.0),
    ambient: float = 0.2,
) -> np.ndarray:
    """(H, W, 3) uint8 picture of the mesh (vertices (V, 3), faces (F, 3)) at size (W, H).

    camera: None looks at the mesh's own bounding box (orbit_camera); pass one built from the input's box
    to keep the view fixed while a surface changes. Shading is two-sided Lambert from a light near the
    eye, plus `ambient`; pixels whose ray misses are `background`. An empty mesh gives the background."""
    import open3d as o3d  # deferred: open3d takes seconds to import

    w, h = int(size[0]), int(size[1])
    bg = np.asarray(background, np.float64)
    v = np.asarray(vertices, np.float64).reshape(-1, 3)
    f = np.asarray(faces, np.int64).reshape(-1, 3)
    if len(f) == 0:
        return np.broadcast_to((bg * 255).round().astype(np.uint8), (h, w, 3)).copy()
    if camera is None:
        camera = orbit_camera(v.min(axis=0), v.max(axis=0))
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(v.astype(np.float32)), o3d.core.Tensor(f.astype(np.uint32)))
    # Open3D's pinhole rays put image row 0 at -up and column 0 at +right: a negated up gives an upright picture
    rays = scene.create_rays_pinhole(
        fov_deg=camera.fov_deg,
        center=list(camera.center),
        eye=list(camera.eye),
        up=[-float(c) for c in camera.up],
        width_px=w,
        height_px=h,
    )
    hit = scene.cast_rays(rays)
    t = hit["t_hit"].numpy()
    normals = hit["primitive_normals"].numpy()
    shade = ambient + (1 - ambient) * np.abs(normals @ _light(camera))
    rgb = np.where(np.isfinite(t)[..., None], shade[..., None] * np.asarray(color, np.float64), bg)
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)


def _light(camera: Camera) -> np.ndarray:
    """(3,) unit direction towards a light above and to the right of the eye."""
    back = np.asarray(camera.eye, np.float64) - np.asarray(camera.center, np.float64)
    back /= max(np.linalg.norm(back), 1e-12)
    right = np.cross(np.asarray(camera.up, np.float64), back)
    right /= max(np.linalg.norm(right), 1e-12)
    up = np.cross(back, right)
    d = back + 0.4 * up + 0.3 * right
    return d / np.linalg.norm(d)
