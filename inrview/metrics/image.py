"""Image quality measures: PSNR and SSIM on float pictures (H, W, C) with values in [0, 1]."""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity


def psnr(pred: np.ndarray, target: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB of two arrays of the same shape with values in [0, data_range]."""
    mse = float(np.mean((np.asarray(pred, np.float64) - np.asarray(target, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(data_range**2 / mse)


def ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """Structural similarity (scikit-image, Gaussian-weighted as in Wang et al. 2004) on [0, 1] data."""
    p, t = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    if min(p.shape[0], p.shape[1]) < 7:
        return float("nan")  # too small for the 7x7 window (11x11 with gaussian weights)
    gaussian = min(p.shape[0], p.shape[1]) >= 11
    return float(
        structural_similarity(
            p,
            t,
            data_range=1.0,
            channel_axis=2,
            gaussian_weights=gaussian,
            sigma=1.5,
            use_sample_covariance=not gaussian,
        )
    )


def image_metrics(pred: np.ndarray, target: np.ndarray) -> dict:
    """{'psnr': dB, 'ssim': [0, 1]} of a (H, W, C) picture against its target."""
    return {"psnr": psnr(pred, target), "ssim": ssim(pred, target)}
