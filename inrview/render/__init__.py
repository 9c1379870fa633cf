"""Pictures without OpenGL: meshes ray-cast on the CPU, and time-lapse animations of a field learning.

- `raycast`: `render_mesh(vertices, faces, size, camera) -> (H, W, 3) uint8` (Open3D's RaycastingScene,
  Lambert shading with a little ambient light) and `orbit_camera(lo, hi, azimuth, elevation)`;
- `timelapse`: `TimelapseWriter(path, fps)` (GIF through imageio, MP4 through imageio-ffmpeg) and
  `FrameSchedule`, which spreads a time-lapse's frames over a training budget.
"""

from .raycast import Camera, orbit_camera, render_mesh
from .timelapse import FrameSchedule, TimelapseWriter, mp4_available

__all__ = ["Camera", "orbit_camera", "render_mesh", "FrameSchedule", "TimelapseWriter", "mp4_available"]
