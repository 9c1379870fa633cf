"""2D images as continuous functions: fit, render at any size, super-resolve, deblur, differentiate.

    >>> from inrview.image import load_image, ImageSession
    >>> session = ImageSession(load_image("photo.png"), kind="siren")
    >>> last = session.train()
    >>> session.field.save("photo_x4.png", scale=4)

Nothing here imports Qt; heavy optional pieces (matplotlib for plots) load only when used.
"""
from .data import ImageData, load_image, save_image
from .deblur import DeblurResult, deblur_session, richardson_lucy, synthetic_blur, synthetic_deblur_check
from .field import ImageField, finite_difference_maps, image_model_config
from .kernels import blur, gaussian_kernel, load_kernel, motion_kernel, parse_kernel
from .render import extent, render
from .session import ImageSession, image_metrics, ssim
from .superres import SuperResolutionResult, bicubic_upsample, downsample, super_resolution_check
from .sweep import SweepRow, capacity_sweep
from .tasks import BlurTask, PixelTask

__all__ = ["ImageData", "load_image", "save_image", "DeblurResult", "deblur_session", "richardson_lucy",
           "synthetic_blur", "synthetic_deblur_check", "ImageField", "finite_difference_maps", "image_model_config",
           "blur", "gaussian_kernel", "load_kernel", "motion_kernel", "parse_kernel", "extent", "render",
           "ImageSession", "image_metrics", "ssim", "SuperResolutionResult", "bicubic_upsample", "downsample",
           "super_resolution_check", "SweepRow", "capacity_sweep", "BlurTask", "PixelTask", "demo_image"]


def demo_image() -> str:
    """Path of the bundled demo picture (astronaut Eileen Collins, NASA, public domain; 256x256)."""
    from .. import resource

    return resource("astronaut.png")
