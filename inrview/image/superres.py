"""Super-resolution by sampling a finer grid, and the fair check against bicubic interpolation.

The check: area-downsample an image by k (each small pixel the mean of a k x k block, as a camera with
k-times larger pixels would record it), fit the small image, render the field at the original size, and
measure PSNR/SSIM against the original next to bicubic upsampling of the very same small image. By
default the fit uses the area footprint (see PixelTask): the network learns a picture whose pixel
*averages* are the observed values, which is the observation model of the downsampling itself.

`upscaling_choice` is the one place that decides what to train when a picture is to be rendered larger than
it was observed (`inrview image fit --scale`, the app's export at a larger size): the grid encoding at
point samples, the plain fit's default, interpolates worse than bicubic there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..config import ModelConfig, TrainConfig
from ..config.image import UpscalingChoice, image_model_config
from ..errors import InrviewError
from ..io.image import ImageData
from ..metrics import image_metrics
from ..sampling.pixels import extent
from ..training.image_tasks import PixelTask
from .session import ImageSession, area_resize


def downsample(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Area (block-mean) downsampling by a whole factor; the image is first cropped to a multiple of it."""
    k = int(factor)
    if k < 1:
        raise InrviewError(f"downsampling factor must be a whole number >= 1, not {factor}")
    h, w = (pixels.shape[0] // k) * k, (pixels.shape[1] // k) * k
    if h == 0 or w == 0:
        raise InrviewError(f"image of {pixels.shape[1]}x{pixels.shape[0]} is smaller than the factor {k}")
    return area_resize(np.ascontiguousarray(pixels[:h, :w]), h // k, w // k)


def bicubic_upsample(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bicubic interpolation (Pillow's, Keys a = -0.5, the usual baseline) of float pixels, clipped to [0, 1]."""
    chans = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(pixels[..., c], np.float32)).resize((width, height), Image.BICUBIC)
        )
        for c in range(pixels.shape[2])
    ]
    return np.clip(np.stack(chans, axis=-1), 0, 1).astype(np.float32)


@dataclass
class SuperResolutionResult:
    """Outcome of the fair check. Arrays are float32 (H, W, C) at the original (cropped) size."""

    factor: int
    original: np.ndarray
    small: np.ndarray
    inr: np.ndarray
    bicubic: np.ndarray
    inr_metrics: dict
    bicubic_metrics: dict
    session: ImageSession

    def summary(self) -> str:
        """One line: sizes, and PSNR and SSIM of the fit and of bicubic upsampling against the original."""
        h, w = self.original.shape[:2]
        sh, sw = self.small.shape[:2]
        return (
            f"x{self.factor} super-resolution {sw}x{sh} -> {w}x{h}: INR PSNR {self.inr_metrics['psnr']:.2f} dB "
            f"SSIM {self.inr_metrics['ssim']:.4f} vs bicubic PSNR {self.bicubic_metrics['psnr']:.2f} dB "
            f"SSIM {self.bicubic_metrics['ssim']:.4f} "
            f"({self.inr_metrics['psnr'] - self.bicubic_metrics['psnr']:+.2f} dB)"
        )

    def to_dict(self) -> dict:
        return {
            "factor": self.factor,
            "size": list(self.original.shape[:2][::-1]),
            "small_size": list(self.small.shape[:2][::-1]),
            "inr_psnr": self.inr_metrics["psnr"],
            "inr_ssim": self.inr_metrics["ssim"],
            "bicubic_psnr": self.bicubic_metrics["psnr"],
            "bicubic_ssim": self.bicubic_metrics["ssim"],
        }


def upscaling_session(
    image: ImageData,
    choice: UpscalingChoice,
    model: ModelConfig | None = None,
    train: TrainConfig | None = None,
    device: str | None = None,
) -> ImageSession:
    """A session fitting image (H, W, C) the way choice says (model and train default to the choice's)."""
    train = train or choice.train_config()
    cfg = model or choice.model_config(image.shape[:2])
    task = PixelTask(
        image.pixels, extent(image.height, image.width), train.batch_size, choice.footprint, choice.supersample
    )
    return ImageSession(
        image,
        cfg,
        train,
        device=device,
        task=task,
        extra_header={"upscaling": {"footprint": choice.footprint, "supersample": choice.supersample}},
    )


def super_resolution_session(
    image: ImageData,
    factor: int,
    model: ModelConfig | None = None,
    kind: str = "siren",
    train: TrainConfig = TrainConfig(),
    device: str | None = None,
    footprint: str = "area",
    supersample: int = 2,
) -> tuple[ImageSession, np.ndarray]:
    """A session fitting the k-times area-downsampled image; returns (session, original cropped to k)."""
    k = int(factor)
    small = downsample(image.pixels, k)
    h, w = small.shape[0] * k, small.shape[1] * k
    original = image.pixels[:h, :w]
    small_img = ImageData(small, image.has_alpha, image.bit_depth, f"{image.source} /{k}", list(image.notices))
    cfg = model or image_model_config(kind, small.shape[:2])
    session = ImageSession(
        small_img,
        cfg,
        train,
        device=device,
        mode="superres",
        task=PixelTask(small, extent(*small.shape[:2]), train.batch_size, footprint, supersample),
        extra_header={"superres": {"factor": k, "footprint": footprint}},
    )
    return session, original


def finish_super_resolution(session: ImageSession, original: np.ndarray, factor: int) -> SuperResolutionResult:
    """Render the trained session at the size of original (H, W, C) float32, upsample its small image
    bicubically, and measure both against the original; returns a SuperResolutionResult."""
    h, w = original.shape[:2]
    inr = session.field.render(h, w)
    small = session.image.pixels
    bic = bicubic_upsample(small, h, w)
    return SuperResolutionResult(
        int(factor), original, small, inr, bic, image_metrics(inr, original), image_metrics(bic, original), session
    )


def super_resolution_check(
    image: ImageData, factor: int = 4, model: ModelConfig | None = None, progress=None, **session
) -> SuperResolutionResult:
    """Downsample by `factor`, fit, render at full size, and compare with bicubic (see module docstring).
    session: super_resolution_session's other settings (kind, train, device, footprint, supersample)."""
    session, original = super_resolution_session(image, factor, model, **session)
    session.train(progress=progress)
    return finish_super_resolution(session, original, factor)
