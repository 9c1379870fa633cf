"""Quality measures, one home for all of them.

- `surface`: a surface against a reference mesh or points (Chamfer-L1 point-to-surface, normal
  consistency, F-score, volume IoU), `surface_metrics(...) -> SurfaceMetrics`;
- `cloud`: how well a surface explains raw scan points (one-sided distance, far area, watertightness),
  `data_fit(...) -> DataFit`;
- `image`: PSNR and SSIM of pictures.
"""

from .cloud import DataFit, connected_components, data_fit, far_area_fraction, point_to_surface
from .image import image_metrics, psnr, ssim
from .surface import SurfaceMetrics, normalised_scale, surface_metrics, volume_iou

__all__ = [
    "DataFit",
    "connected_components",
    "data_fit",
    "far_area_fraction",
    "point_to_surface",
    "image_metrics",
    "psnr",
    "ssim",
    "SurfaceMetrics",
    "normalised_scale",
    "surface_metrics",
    "volume_iou",
]
