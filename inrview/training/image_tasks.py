"""What an image fit optimises, as trainer tasks: plain pixel regression, and deblurring with the blur
inside the loss.

Both return named terms with a 'total' (the trainer's contract); 'mse' is always in pixel units on
[0, 1], so -10 log10(mse) is the PSNR of the batch.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..sampling.pixels import pixel_centres, pixel_pitch, to_values
from .tasks import Task


class PixelTask(Task):
    """Mean squared error between f(pixel centre) and the pixel value, on random batches of pixels (the
    whole image each step when the batch covers it).

    footprint='area' treats each pixel as the average of f over its cell, estimated per step from
    `supersample` x `supersample` stratified jittered samples: the observation model of a camera (or of a
    box downsampling), which is what makes rendering on a finer grid a fair super-resolution.
    """

    def __init__(
        self,
        pixels: np.ndarray,
        ext: tuple[float, float],
        batch_size: int = 16384,
        footprint: str = "point",
        supersample: int = 2,
    ):
        if footprint not in ("point", "area"):
            raise ValueError(f"unknown footprint {footprint!r} (choose point or area)")
        if supersample < 1:
            raise ValueError("supersample must be at least 1")
        h, w, c = pixels.shape
        self.height, self.width, self.channels = h, w, c
        self.batch_size, self.footprint, self.supersample = int(batch_size), footprint, int(supersample)
        self.coords = pixel_centres(h, w, ext)
        self.values = torch.from_numpy(np.ascontiguousarray(pixels.reshape(-1, c), dtype=np.float32))
        self.pitch = torch.tensor(pixel_pitch(h, w, ext), dtype=torch.float32)
        s = self.supersample
        cells = (torch.arange(s, dtype=torch.float32) + 0.5) / s - 0.5  # stratum centres within a cell
        gy, gx = torch.meshgrid(cells, cells, indexing="ij")
        self.strata = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)  # (s*s, 2) in cell units

    def to(self, device):
        self.coords, self.values = self.coords.to(device), self.values.to(device)
        self.pitch, self.strata = self.pitch.to(device), self.strata.to(device)
        return self

    def _batch(self, generator):
        """batch_size counts network evaluations, so with the area footprint a step takes
        batch_size / supersample^2 pixels and costs about the same as a point step."""
        n = len(self.coords)
        per_step = max(1, self.batch_size // (self.supersample**2 if self.footprint == "area" else 1))
        if per_step >= n:
            return self.coords, self.values
        idx = self._draw(n, per_step, generator, self.coords.device)
        return self.coords[idx], self.values[idx]

    def loss(self, model, generator):
        x, y = self._batch(generator)
        if self.footprint == "point":
            pred = to_values(model(x))
        else:
            s2 = len(self.strata)
            jitter = (torch.rand(len(x), s2, 2, generator=generator) - 0.5).to(x.device) / self.supersample
            pts = x[:, None, :] + (self.strata[None] + jitter) * self.pitch
            pred = to_values(model(pts.reshape(-1, 2))).reshape(len(x), s2, -1).mean(1)
        mse = F.mse_loss(pred, y)
        return {"mse": mse, "total": mse}


class BlurTask(Task):
    """Deblurring: f is the sharp image; the loss compares blur(f) with the observation.

    Each step draws `patches` random windows of `patch` x `patch` observed pixels, renders f on each
    window grown by the kernel's radius, convolves with the known kernel (true convolution, per channel)
    and takes the mean squared error against the observed window. Beyond the image border f is read
    mirrored (half-sample symmetric, scipy's 'reflect'), the boundary model the observation is assumed to
    have. tv_weight > 0 adds an anisotropic total-variation prior on the rendered windows (for noisy input).
    """

    def __init__(
        self,
        observed: np.ndarray,
        ext: tuple[float, float],
        kernel: np.ndarray,
        patch: int = 32,
        patches: int = 8,
        tv_weight: float = 0.0,
    ):
        h, w, c = observed.shape
        k = np.asarray(kernel, np.float32)
        if k.ndim != 2 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
            raise ValueError("the kernel must be a 2D array with odd sides")
        self.height, self.width, self.channels = h, w, c
        self.patch_h, self.patch_w = min(patch, h), min(patch, w)
        self.tv_weight = float(tv_weight)
        self.positions = (h - self.patch_h + 1) * (w - self.patch_w + 1)  # distinct windows
        self.patches = max(1, min(int(patches), self.positions))
        self.ry, self.rx = k.shape[0] // 2, k.shape[1] // 2
        self.observed = torch.from_numpy(np.ascontiguousarray(observed.transpose(2, 0, 1), dtype=np.float32))
        # conv2d correlates; flipping the kernel makes it a convolution. One copy per channel (groups=c).
        flipped = torch.from_numpy(np.ascontiguousarray(k[::-1, ::-1]))
        self.weight = flipped[None, None].repeat(c, 1, 1, 1)
        self.coords = pixel_centres(h, w, ext).reshape(h, w, 2)

    @property
    def batch_size(self) -> int:
        """Observed pixels per step; setting it (the trainer halves it after running out of memory)
        changes the number of windows."""
        return self.patches * self.patch_h * self.patch_w

    @batch_size.setter
    def batch_size(self, n: int) -> None:
        """Draw as many whole windows as fit in n pixels (at least one, at most every window)."""
        self.patches = max(1, min(int(n) // (self.patch_h * self.patch_w), self.positions))

    def to(self, device):
        self.observed, self.weight, self.coords = (
            self.observed.to(device),
            self.weight.to(device),
            self.coords.to(device),
        )
        return self

    @staticmethod
    def _reflect(idx: torch.Tensor, n: int) -> torch.Tensor:
        """Half-sample symmetric reflection of indices into [0, n) (d c b a | a b c d | d c b a)."""
        period = 2 * n
        i = torch.remainder(idx, period)
        return torch.where(i >= n, period - 1 - i, i)

    def loss(self, model, generator):
        ph, pw, ry, rx = self.patch_h, self.patch_w, self.ry, self.rx
        dev = self.coords.device
        tops = torch.randint(0, self.height - ph + 1, (self.patches,), generator=generator)
        lefts = torch.randint(0, self.width - pw + 1, (self.patches,), generator=generator)
        oy = torch.arange(-ry, ph + ry)
        ox = torch.arange(-rx, pw + rx)
        rows = self._reflect(tops[:, None] + oy[None], self.height).to(dev)  # (B, ph + 2ry)
        cols = self._reflect(lefts[:, None] + ox[None], self.width).to(dev)  # (B, pw + 2rx)
        pts = self.coords[rows[:, :, None], cols[:, None, :]]  # (B, Sh, Sw, 2)
        b, sh, sw = pts.shape[:3]
        sharp = to_values(model(pts.reshape(-1, 2))).reshape(b, sh, sw, -1).permute(0, 3, 1, 2)
        blurred = F.conv2d(sharp, self.weight, groups=self.channels)  # (B, C, ph, pw)
        ri = (tops[:, None] + torch.arange(ph)[None]).to(dev)
        ci = (lefts[:, None] + torch.arange(pw)[None]).to(dev)
        obs = self.observed[:, ri[:, :, None], ci[:, None, :]].permute(1, 0, 2, 3)  # (B, C, ph, pw)
        mse = F.mse_loss(blurred, obs)
        out = {"mse": mse}
        total = mse
        if self.tv_weight > 0:
            tv = (sharp[..., 1:, :] - sharp[..., :-1, :]).abs().mean() + (sharp[..., 1:] - sharp[..., :-1]).abs().mean()
            out["tv"] = tv
            total = total + self.tv_weight * tv
        out["total"] = total
        return out
