"""2D images as continuous functions: fit, render at any size, super-resolve, deblur, differentiate.

    >>> from inrview.image import load_image, ImageSession
    >>> session = ImageSession(load_image("photo.png"), kind="siren")
    >>> last = session.train()
    >>> session.field.save("photo_x4.png", scale=4)

The image pipeline over the core's layers: pictures load in `inrview.io.image`, pixel coordinates live in
`inrview.sampling.pixels`, the pixel and blur tasks in `inrview.training`, the rendered field in
`inrview.field.image`; this package holds the sessions (fit, super-resolution, deblurring, capacity sweeps)
and the views of a fit. Nothing here imports Qt.
"""

from ..field.image import ImageField, finite_difference_maps, render
from ..io.image import ImageData, load_image, save_image
from ..io.resources import demo_image
from ..metrics import image_metrics, ssim
from ..sampling.pixels import extent
from ..training.image_tasks import BlurTask, PixelTask
from ..training.kernels import blur, gaussian_kernel, load_kernel, motion_kernel, parse_kernel
from .deblur import DeblurResult, deblur_session, richardson_lucy, synthetic_blur, synthetic_deblur_check
from .session import ImageSession
from .superres import (
    SuperResolutionResult,
    bicubic_upsample,
    downsample,
    super_resolution_check,
    upscaling_session,
)
from .sweep import SweepRow, capacity_sweep

__all__ = [
    "ImageData",
    "load_image",
    "save_image",
    "DeblurResult",
    "deblur_session",
    "richardson_lucy",
    "synthetic_blur",
    "synthetic_deblur_check",
    "ImageField",
    "finite_difference_maps",
    "blur",
    "gaussian_kernel",
    "load_kernel",
    "motion_kernel",
    "parse_kernel",
    "extent",
    "render",
    "ImageSession",
    "image_metrics",
    "ssim",
    "SuperResolutionResult",
    "bicubic_upsample",
    "downsample",
    "super_resolution_check",
    "upscaling_session",
    "SweepRow",
    "capacity_sweep",
    "BlurTask",
    "PixelTask",
    "demo_image",
]
