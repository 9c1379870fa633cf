"""The image plane as a continuous domain: pixel centres and sizes on any pixel grid.

Coordinates are (x, y) with x along columns and y down the rows. The longer side of the image spans
[-1, 1] and the shorter one the matching fraction, so a unit of distance is the same along both axes
(derivatives and SIREN's frequencies stay isotropic on non-square images). A pixel is the square cell it
covers; its value is sampled at the cell's centre. Rendering H' x W' pixels samples the centres of an
H' x W' division of the same domain: super-resolution is sampling a finer grid.

The network's raw output r maps to pixel values v = (r + 1) / 2, so a network that starts near zero starts
at mid grey, and every family learns targets centred on zero (as in SIREN's image experiments, Sec. 3.1).
"""

from __future__ import annotations

import numpy as np
import torch


def extent(height: int, width: int) -> tuple[float, float]:
    """Half-widths (sx, sy) of the domain [-sx, sx] x [-sy, sy] of a height x width image."""
    m = float(max(height, width))
    return width / m, height / m


def pixel_centres(height: int, width: int, ext: tuple[float, float]) -> torch.Tensor:
    """(height * width, 2) float32 (x, y) at the centres of a height x width grid over the domain, row-major."""
    sx, sy = ext
    xs = ((2.0 * torch.arange(width, dtype=torch.float64) + 1.0) / width - 1.0) * sx
    ys = ((2.0 * torch.arange(height, dtype=torch.float64) + 1.0) / height - 1.0) * sy
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1).float()


def pixel_pitch(height: int, width: int, ext: tuple[float, float]) -> tuple[float, float]:
    """Size of one pixel of a height x width grid in domain units, (along x, along y)."""
    return 2.0 * ext[0] / width, 2.0 * ext[1] / height


def to_values(raw: torch.Tensor) -> torch.Tensor:
    """Network output to pixel values (see module docstring)."""
    return 0.5 * raw + 0.5


def output_size(
    height: int, width: int, scale: float | None = None, size: tuple[int, int] | None = None
) -> tuple[int, int]:
    """(height, width) of a rendering: an explicit size (width, height) wins; else the image scaled."""
    if size is not None:
        w, h = size
        if w < 1 or h < 1:
            raise ValueError(f"size {w}x{h} must be at least 1x1")
        return int(h), int(w)
    s = 1.0 if scale is None else float(scale)
    if not s > 0 or not np.isfinite(s):
        raise ValueError(f"scale {scale} must be a positive number")
    return max(1, int(round(height * s))), max(1, int(round(width * s)))
