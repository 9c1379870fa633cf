"""What a live view of an image fit shows, computed without Qt: the app's worker thread calls this
between training steps and hands the finished uint8 pictures to the GUI thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..field.image import finite_difference_maps
from ..metrics import psnr, ssim
from .session import ImageSession, area_resize
from .views import error_view, magnitude_view, robust_max, signed_view, to_rgb, to_uint8

#: View names, in the order the app lists them. 'gradient'/'laplacian' are the fitted function's (autograd);
#: 'target gradient'/'target laplacian' are finite differences of the target image, for comparison.
VIEW_NAMES = ("fitted", "target", "error", "gradient", "laplacian", "target gradient", "target laplacian")
DERIVATIVE_VIEWS = ("gradient", "laplacian")
#: Error view scale: absolute error of 0.1 (10% of the range) is the brightest colour.
ERROR_SCALE = 0.1


@dataclass
class LiveFrame:
    """One update for the display: metrics and ready-to-show RGB uint8 pictures keyed by view name."""

    step: int
    elapsed: float
    psnr: float
    ssim: float
    pictures: dict = field(default_factory=dict)
    size: tuple[int, int] = (0, 0)  # (height, width) of the pictures
    seconds: float = 0.0  # how long computing this frame took
    done: bool = False


class LiveViews:
    """Builds LiveFrames for one session; target pictures and derivative scales are computed once."""

    def __init__(self, session: ImageSession, max_pixels: int | None = None):
        self.session = session
        h, w = session.preview_size
        if max_pixels is not None and h * w > max_pixels:
            f = float(np.sqrt(h * w / max_pixels))
            h, w = max(1, int(h / f)), max(1, int(w / f))
        self.size = (h, w)
        self.target = area_resize(session.reference, h, w)
        alpha = session.image.has_alpha
        self.target_rgb = to_uint8(to_rgb(self.target, alpha))
        ref = finite_difference_maps(self.target)
        self.grad_scale = robust_max(ref["gradient"])
        self.lap_scale = robust_max(ref["laplacian"])
        self.target_grad = to_uint8(magnitude_view(ref["gradient"], self.grad_scale))
        self.target_lap = to_uint8(signed_view(ref["laplacian"], self.lap_scale))

    def frame(
        self,
        wanted=("fitted", "error"),
        step: int = 0,
        elapsed: float = 0.0,
        with_ssim: bool = True,
        done: bool = False,
    ) -> LiveFrame:
        """Render the field and build the wanted views (the target views are always cheap)."""
        t0 = time.perf_counter()
        h, w = self.size
        fld = self.session.field
        fitted = fld.render(h, w)
        pics = {
            "fitted": to_uint8(to_rgb(fitted, fld.has_alpha)),
            "target": self.target_rgb,
            "target gradient": self.target_grad,
            "target laplacian": self.target_lap,
        }
        if "error" in wanted:
            pics["error"] = to_uint8(error_view(fitted, self.target, ERROR_SCALE))
        if any(v in wanted for v in DERIVATIVE_VIEWS):
            der = fld.derivatives(h, w)
            pics["gradient"] = to_uint8(magnitude_view(der["gradient"], self.grad_scale))
            pics["laplacian"] = to_uint8(signed_view(der["laplacian"], self.lap_scale))
        s = ssim(fitted, self.target) if with_ssim else float("nan")
        return LiveFrame(step, elapsed, psnr(fitted, self.target), s, pics, (h, w), time.perf_counter() - t0, done)
