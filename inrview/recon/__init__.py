"""Surfaces from raw scans: normals (estimation, orientation, a flip report), the neural fit of a point
cloud, the screened Poisson baseline and mesh clean-up. The measures of how well a surface explains its
data live in `inrview.metrics.cloud` and are re-exported here.

Functions the app and other callers use:

- `prepare_cloud(geometry, mode) -> (geometry_with_normals, NormalReport)` and
  `estimate_normals(points, k) -> (normals, NormalReport)`: report.flipped counts normals the orientation
  reversed;
- `reconstruct(geometry, cfg, normals) -> Reconstruction` (mesh in the cloud's units, session, timings);
- `poisson_reconstruct(points, normals, depth, trim_quantile) -> PoissonResult` (vertices, faces, ...)
  and `poisson_for(geometry, normals) -> (PoissonResult, NormalReport)`;
- `data_fit(points, vertices, faces) -> DataFit`: one-sided distance from the data to a surface, the share
  of its area far from every input point, watertightness.
"""

from ..metrics.cloud import DataFit, data_fit, far_area_fraction, point_to_surface
from .cleanup import drop_small_components, trim_far, weld
from .normals import (
    NORMAL_MODES,
    NormalReport,
    estimate_normals,
    orient_normals,
    orientation_consistency,
    prepare_normals,
)
from .pipeline import (
    DEFAULT_MODEL,
    DEFAULT_SECONDS,
    MAX_POINTS,
    Reconstruction,
    as_cloud,
    auto_model,
    config_for,
    default_config,
    noise_level,
    point_spacing,
    poisson_for,
    prepare_cloud,
    reconstruct,
    with_loss,
)
from .poisson import PoissonResult, auto_depth, poisson_reconstruct

__all__ = [
    "DataFit",
    "data_fit",
    "far_area_fraction",
    "point_to_surface",
    "NORMAL_MODES",
    "NormalReport",
    "estimate_normals",
    "orient_normals",
    "orientation_consistency",
    "prepare_normals",
    "DEFAULT_MODEL",
    "DEFAULT_SECONDS",
    "MAX_POINTS",
    "Reconstruction",
    "as_cloud",
    "auto_model",
    "config_for",
    "default_config",
    "noise_level",
    "point_spacing",
    "drop_small_components",
    "trim_far",
    "weld",
    "poisson_for",
    "prepare_cloud",
    "reconstruct",
    "with_loss",
    "PoissonResult",
    "auto_depth",
    "poisson_reconstruct",
]
