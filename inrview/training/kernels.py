"""Blur kernels (point-spread functions) and blurring: Gaussian, linear motion, or any kernel image.

Kernels are float32 2D arrays with odd sides that sum to 1. `blur` is a true convolution with mirrored
borders (scipy's 'reflect', the boundary model the deblurring task assumes).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from scipy.ndimage import convolve

from ..errors import InrviewError, LoadError
from ..io.image import load_image


def gaussian_kernel(sigma: float, radius: int | None = None) -> np.ndarray:
    """Isotropic Gaussian of standard deviation sigma pixels, truncated at radius (default ceil(3 sigma))."""
    if not (sigma > 0 and math.isfinite(sigma)):
        raise InrviewError(f"Gaussian sigma must be a positive number, not {sigma}")
    r = int(math.ceil(3.0 * sigma)) if radius is None else int(radius)
    r = max(r, 1)
    t = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    k = np.outer(g, g)
    return (k / k.sum()).astype(np.float32)


def motion_kernel(length: float, angle: float = 0.0, samples_per_pixel: int = 8) -> np.ndarray:
    """Uniform linear motion over `length` pixels at `angle` degrees (counter-clockwise from +x, image
    y pointing up as seen on screen), anti-aliased by splatting points along the segment bilinearly."""
    if not (length > 0 and math.isfinite(length)):
        raise InrviewError(f"motion length must be a positive number of pixels, not {length}")
    if not math.isfinite(angle):
        raise InrviewError(f"motion angle must be a number of degrees, not {angle}")
    a = math.radians(angle)
    dx, dy = math.cos(a), -math.sin(a)  # rows grow downwards
    r = int(math.ceil(length / 2.0)) + 1
    size = 2 * r + 1
    k = np.zeros((size, size), np.float64)
    n = max(2, int(math.ceil(length * samples_per_pixel)) + 1)
    for t in np.linspace(-length / 2.0, length / 2.0, n):
        x, y = r + t * dx, r + t * dy
        x0, y0 = int(math.floor(x)), int(math.floor(y))
        fx, fy = x - x0, y - y0
        for yy, xx, wgt in (
            (y0, x0, (1 - fx) * (1 - fy)),
            (y0, x0 + 1, fx * (1 - fy)),
            (y0 + 1, x0, (1 - fx) * fy),
            (y0 + 1, x0 + 1, fx * fy),
        ):
            if 0 <= yy < size and 0 <= xx < size:
                k[yy, xx] += wgt
    return normalise_kernel(k)


def normalise_kernel(k: np.ndarray, source: str = "kernel") -> np.ndarray:
    """Non-negative, summing to 1, trimmed of empty border rows/columns, padded to odd sides (centred)."""
    k = np.asarray(k, np.float64)
    if k.ndim == 3:
        k = k.mean(axis=2)
    if k.ndim != 2 or k.size == 0:
        raise LoadError(source, f"a kernel must be a 2D array, not shape {k.shape}")
    if not np.isfinite(k).all():
        raise LoadError(source, "kernel holds NaN or infinite values")
    k = np.clip(k, 0.0, None)
    if k.sum() <= 0:
        raise LoadError(source, "kernel is all zero")
    rows, cols = np.nonzero(k)
    k = k[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    ph, pw = (k.shape[0] + 1) % 2, (k.shape[1] + 1) % 2
    if ph or pw:  # even side: pad so the kernel has a centre pixel (a half-pixel shift at most)
        k = np.pad(k, ((0, ph), (0, pw)))
    return (k / k.sum()).astype(np.float32)


def load_kernel(path: str | os.PathLike) -> np.ndarray:
    """A kernel from an image file (bright = weight; colour is averaged) or a .npy array."""
    p = Path(path)
    if p.suffix.lower() == ".npy":
        if not p.exists():
            raise LoadError(p, "file not found")
        try:
            arr = np.load(p, allow_pickle=False)
        except Exception as e:
            raise LoadError(p, f"cannot read kernel array ({str(e).splitlines()[0][:120]})") from None
        return normalise_kernel(arr, str(p))
    img = load_image(p, alpha="drop")
    return normalise_kernel(img.pixels, str(p))


def parse_kernel(spec: str) -> tuple[np.ndarray, str]:
    """A kernel from a command-line spec: 'gaussian:SIGMA', 'motion:LENGTH[:ANGLE]', or a file path.
    Returns (kernel, description)."""
    s = str(spec).strip()
    name, _, rest = s.partition(":")
    if name.lower() in ("gaussian", "gauss") and rest:
        sigma = _number(rest, spec)
        return gaussian_kernel(sigma), f"Gaussian sigma {sigma:g} px"
    if name.lower() == "motion" and rest:
        parts = rest.replace(",", ":").split(":")
        if len(parts) > 2:
            raise InrviewError(f"kernel '{spec}': use motion:LENGTH or motion:LENGTH:ANGLE")
        length = _number(parts[0], spec)
        angle = _number(parts[1], spec) if len(parts) > 1 else 0.0
        return motion_kernel(length, angle), f"motion {length:g} px at {angle:g} deg"
    if Path(s).exists():
        k = load_kernel(s)
        return k, f"kernel image {s} ({k.shape[1]}x{k.shape[0]})"
    raise InrviewError(f"kernel '{spec}' is neither gaussian:SIGMA, motion:LENGTH[:ANGLE] nor an existing file")


def _number(text: str, spec: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise InrviewError(f"kernel '{spec}': '{text}' is not a number") from None
    return v


def blur(pixels: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve (H, W) or (H, W, C) pixels with the kernel, channel by channel, mirrored borders."""
    px = np.asarray(pixels, np.float32)
    k = np.asarray(kernel, np.float32)
    if px.ndim == 2:
        return convolve(px, k, mode="reflect")
    return np.stack([convolve(px[..., c], k, mode="reflect") for c in range(px.shape[2])], axis=-1)
