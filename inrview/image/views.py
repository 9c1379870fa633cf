"""Pictures of pictures: the float arrays the app shows and the command line writes (no Qt here).

Every function returns float32 RGB (H, W, 3) in [0, 1], so one code path displays or saves any view.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..field.image import finite_difference_maps
from ..io.image import save_image


def checkerboard(height: int, width: int, cell: int = 8) -> np.ndarray:
    """(height, width, 3) float32 grey checkerboard with cell-pixel squares (the backdrop of transparency)."""
    yy, xx = np.mgrid[0:height, 0:width]
    board = (((yy // cell) + (xx // cell)) % 2).astype(np.float32)
    return (0.8 + 0.15 * board)[..., None].repeat(3, axis=2)


def to_rgb(pixels: np.ndarray, has_alpha: bool = False) -> np.ndarray:
    """Grey, grey+alpha, RGB or RGBA pixels (alpha premultiplied) as RGB, transparency over a checkerboard."""
    p = np.clip(np.asarray(pixels, np.float32), 0, 1)
    if p.ndim == 2:
        p = p[..., None]
    if has_alpha:
        colour, a = p[..., :-1], p[..., -1:]
        if colour.shape[2] == 1:
            colour = colour.repeat(3, axis=2)
        return np.clip(colour + (1 - a) * checkerboard(p.shape[0], p.shape[1]), 0, 1)
    return p.repeat(3, axis=2) if p.shape[2] == 1 else p[..., :3]


def _ramp(t: np.ndarray, colours) -> np.ndarray:
    """Colours (N, 3) spaced evenly over 0..1, interpolated at t (clipped to 0..1)."""
    t = np.clip(t, 0.0, 1.0)
    cols = np.asarray(colours, np.float32)
    xs = np.linspace(0.0, 1.0, len(cols))
    return np.stack([np.interp(t, xs, cols[:, i]) for i in range(3)], axis=-1).astype(np.float32)


#: Colour ramps, evenly spaced: a perceptual dark-to-bright one (after inferno) and a blue-white-red one.
_INFERNO = ((0.0, 0.0, 0.02), (0.34, 0.06, 0.43), (0.73, 0.21, 0.33), (0.98, 0.55, 0.04), (0.99, 1.0, 0.64))
_DIVERGING = ((0.02, 0.19, 0.38), (0.40, 0.65, 0.81), (0.97, 0.97, 0.97), (0.96, 0.56, 0.45), (0.40, 0.0, 0.05))


def robust_max(values: np.ndarray, percentile: float = 99.0) -> float:
    """The `percentile` of |values| as a display maximum (the largest |value| when that is ~0; at least
    1e-12)."""
    v = np.abs(np.asarray(values, np.float64))
    m = float(np.percentile(v, percentile)) if v.size else 0.0
    return m if m > 1e-12 else max(float(v.max(initial=0.0)), 1e-12)


def magnitude_view(values: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """Non-negative map (error, gradient magnitude) in a perceptual dark-to-bright ramp, 0..vmax."""
    vmax = robust_max(values) if vmax is None else vmax
    return _ramp(np.asarray(values, np.float32) / vmax, _INFERNO)


def signed_view(values: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """Signed map (Laplacian) in a blue-white-red ramp, white at zero, symmetric +-vmax."""
    vmax = robust_max(values) if vmax is None else vmax
    return _ramp(0.5 + 0.5 * np.asarray(values, np.float32) / vmax, _DIVERGING)


def error_map(fitted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-pixel absolute error, averaged over channels, (H, W)."""
    return np.abs(np.asarray(fitted, np.float32) - np.asarray(target, np.float32)).mean(axis=-1)


def error_view(fitted: np.ndarray, target: np.ndarray, vmax: float = 0.1) -> np.ndarray:
    """Absolute error with a fixed scale (0..vmax, default 0.1 = 10% of the range) so views compare over time."""
    return magnitude_view(error_map(fitted, target), vmax)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """RGB floats in [0, 1] (clipped) -> uint8 of the same shape."""
    return np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def write_views(session, folder) -> list:
    """Write fitted / target / error / gradient / laplacian PNGs of an ImageSession (and the target's
    finite-difference maps, on the same scales) into folder, created if need be; returns their paths."""
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    fitted, target, alpha = session.field.render(), session.reference, session.image.has_alpha
    der, ref = session.field.derivatives(), finite_difference_maps(target)
    gmax, lmax = max(1e-6, robust_max(ref["gradient"])), max(1e-6, robust_max(ref["laplacian"]))
    views = {
        "fitted": to_rgb(fitted, alpha),
        "target": to_rgb(target, alpha),
        "error": error_view(fitted, target),
        "gradient": magnitude_view(der["gradient"], gmax),
        "laplacian": signed_view(der["laplacian"], lmax),
        "target_gradient": magnitude_view(ref["gradient"], gmax),
        "target_laplacian": signed_view(ref["laplacian"], lmax),
    }
    return [save_image(d / f"{k}.png", v) for k, v in views.items()]
