"""Deblurring with a known kernel: fit f so that blur(f) matches the observation, then render f.

The blur sits inside the loss (BlurTask): the network is the sharp picture, and only its blurred version is
ever compared with the data, so nothing asks the network to reproduce the blur. The synthetic check blurs
a sharp image (optionally adds Gaussian noise and 8-bit quantisation, as a saved photo would have),
deblurs it, and reports PSNR/SSIM against the sharp image next to the blurred input itself and to
scikit-image's Richardson-Lucy deconvolution of the same input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.restoration import richardson_lucy as rl

from ..config import ModelConfig, TrainConfig
from ..config.image import DEFAULT_PATCH, image_model_config
from ..io.image import ImageData
from ..metrics import image_metrics, psnr
from ..sampling.pixels import extent
from ..training.image_tasks import BlurTask
from ..training.kernels import blur
from .session import ImageSession

#: Family used for deblurring when none is named: the grid's per-pixel features let the fit put back the
#: detail the blur removed (SIREN's smooth prior at equal steps leaves much of it blurred; see the README).
DEFAULT_KIND = "grid"


def deblur_session(
    observed: ImageData,
    kernel: np.ndarray,
    model: ModelConfig | None = None,
    kind: str = DEFAULT_KIND,
    train: TrainConfig = TrainConfig(),
    device: str | None = None,
    reference: np.ndarray | None = None,
    patch: int = DEFAULT_PATCH,
    tv_weight: float = 0.0,
    kernel_name: str = "kernel",
) -> ImageSession:
    """A session whose network learns the sharp image behind `observed`. The batch of train.batch_size
    observed pixels is drawn as square windows of `patch` pixels (each rendered grown by the kernel radius).
    reference: the sharp image when it is known (synthetic checks), for previews and metrics."""
    h, w, _ = observed.shape
    p = max(1, min(int(patch), h, w))
    patches = max(1, int(round(train.batch_size / (p * p))))
    task = BlurTask(observed.pixels, extent(h, w), kernel, patch=p, patches=patches, tv_weight=tv_weight)
    cfg = model or image_model_config(kind, (h, w))
    return ImageSession(
        observed,
        cfg,
        train,
        device=device,
        task=task,
        reference=reference,
        mode="deblur",
        extra_header={
            "deblur": {"kernel": kernel_name, "kernel_shape": list(np.shape(kernel)), "tv_weight": tv_weight}
        },
    )


def reblurred_psnr(session: ImageSession, kernel: np.ndarray) -> float:
    """How well blur(f) reproduces the observation (the data term, in dB)."""
    return psnr(blur(session.field.render(), kernel), session.image.pixels)


def richardson_lucy(observed: np.ndarray, kernel: np.ndarray, iterations: int = 30) -> np.ndarray:
    """scikit-image's Richardson-Lucy deconvolution per channel, with the image mirrored by the kernel
    radius first (its convolution pads with zeros, which would darken the border) and cropped after."""
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    pad = np.pad(np.asarray(observed, np.float64), ((ry, ry), (rx, rx), (0, 0)), mode="symmetric")
    out = np.stack(
        [
            rl(pad[..., c], np.asarray(kernel, np.float64), num_iter=int(iterations), clip=True)
            for c in range(pad.shape[2])
        ],
        axis=-1,
    )
    return np.clip(out[ry : ry + observed.shape[0], rx : rx + observed.shape[1]], 0, 1).astype(np.float32)


def synthetic_blur(
    sharp: np.ndarray, kernel: np.ndarray, noise: float = 0.0, quantize: bool = True, seed: int = 0
) -> np.ndarray:
    """Blur (mirrored borders), add Gaussian noise of std `noise`, round to 8 bits when `quantize`."""
    out = blur(sharp, kernel)
    if noise > 0:
        out = out + np.random.default_rng(seed).normal(0.0, noise, out.shape).astype(np.float32)
    out = np.clip(out, 0, 1)
    if quantize:
        out = np.round(out * 255.0) / 255.0
    return out.astype(np.float32)


@dataclass
class DeblurResult:
    """Outcome of the synthetic check; arrays are float32 (H, W, C)."""

    sharp: np.ndarray
    blurred: np.ndarray
    inr: np.ndarray
    rl: np.ndarray
    blurred_metrics: dict
    inr_metrics: dict
    rl_metrics: dict
    rl_iterations: int
    session: ImageSession

    def summary(self) -> str:
        """One line: PSNR and SSIM of the fit, the blurred input and Richardson-Lucy against the sharp image."""
        return (
            f"deblur: INR PSNR {self.inr_metrics['psnr']:.2f} dB SSIM {self.inr_metrics['ssim']:.4f} | "
            f"blurred input {self.blurred_metrics['psnr']:.2f} dB SSIM {self.blurred_metrics['ssim']:.4f} | "
            f"Richardson-Lucy ({self.rl_iterations} it.) {self.rl_metrics['psnr']:.2f} dB "
            f"SSIM {self.rl_metrics['ssim']:.4f} "
            f"({self.inr_metrics['psnr'] - self.blurred_metrics['psnr']:+.2f} dB over the input)"
        )

    def to_dict(self) -> dict:
        return {
            "inr_psnr": self.inr_metrics["psnr"],
            "inr_ssim": self.inr_metrics["ssim"],
            "blurred_psnr": self.blurred_metrics["psnr"],
            "blurred_ssim": self.blurred_metrics["ssim"],
            "rl_psnr": self.rl_metrics["psnr"],
            "rl_ssim": self.rl_metrics["ssim"],
            "rl_iterations": self.rl_iterations,
        }


def synthetic_deblur_check(
    sharp: ImageData,
    kernel: np.ndarray,
    noise: float = 0.0,
    quantize: bool = True,
    model: ModelConfig | None = None,
    kind: str = DEFAULT_KIND,
    train: TrainConfig = TrainConfig(),
    device: str | None = None,
    patch: int = DEFAULT_PATCH,
    tv_weight: float = 0.0,
    rl_iterations: int = 30,
    progress=None,
    kernel_name: str = "kernel",
) -> DeblurResult:
    """Blur `sharp`, deblur it with the INR and with Richardson-Lucy, and measure all against `sharp`."""
    observed = synthetic_blur(sharp.pixels, kernel, noise, quantize, sharp_seed(train))
    obs = ImageData(observed, sharp.has_alpha, sharp.bit_depth, f"{sharp.source} (blurred)", [])
    session = deblur_session(
        obs,
        kernel,
        model,
        kind,
        train,
        device,
        reference=sharp.pixels,
        patch=patch,
        tv_weight=tv_weight,
        kernel_name=kernel_name,
    )
    session.train(progress=progress)
    return finish_synthetic(session, sharp.pixels, observed, kernel, rl_iterations)


def sharp_seed(train: TrainConfig) -> int:
    """Seed of the synthetic noise for a training configuration (its seed + 1, apart from the weights')."""
    return int(train.seed) + 1


def finish_synthetic(
    session: ImageSession, sharp: np.ndarray, observed: np.ndarray, kernel: np.ndarray, rl_iterations: int = 30
) -> DeblurResult:
    """Render the trained deblurring session, run Richardson-Lucy on observed (H, W, C) float32 with the
    kernel, and measure both and the input against sharp (H, W, C) float32; returns a DeblurResult."""
    inr = session.field.render()
    rl = richardson_lucy(observed, kernel, rl_iterations)
    return DeblurResult(
        sharp,
        observed,
        inr,
        rl,
        image_metrics(observed, sharp),
        image_metrics(inr, sharp),
        image_metrics(rl, sharp),
        int(rl_iterations),
        session,
    )
