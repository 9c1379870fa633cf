"""A trained image network as a continuous picture: render it at any size, differentiate it, save it.

`ImageField` knows the domain of the image it was fitted to (see render.py), its pixel size and channel
layout; everything here works without the training data, so a field loaded from a checkpoint renders and
exports the same way as one fresh from training.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import laplace

from ..config import ModelConfig
from ..config.checks import check_config_types
from ..errors import CheckpointError
from ..io.image import save_image
from ..models import build_model
from ..sampling.pixels import output_size, pixel_centres, pixel_pitch, to_values
from ..training import checkpoint as ckpt

RENDER_CHUNK = 4096  # rows per forward pass; small chunks stay in cache on CPUs

#: Luminance weights (Rec. 601) for derivative images of colour pictures.
LUMA = {1: (1.0,), 2: (1.0, 0.0), 3: (0.299, 0.587, 0.114), 4: (0.299, 0.587, 0.114, 0.0)}


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of the model's weights (the CPU for a model without any)."""
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


@torch.no_grad()
def evaluate(model: torch.nn.Module, coords: torch.Tensor, chunk: int = RENDER_CHUNK) -> torch.Tensor:
    """Pixel values (N, C) at coordinates (N, 2), unclipped, on the CPU."""
    dev = model_device(model)
    was_training = model.training
    model.eval()
    chunk = chunk if dev.type == "cpu" else max(chunk, 262_144)
    try:
        outs = [to_values(model(coords[s : s + chunk].to(dev))).float().cpu() for s in range(0, len(coords), chunk)]
    finally:
        model.train(was_training)
    return torch.cat(outs) if outs else torch.zeros(0, getattr(model, "out_dim", 1))


def render(
    model: torch.nn.Module,
    height: int,
    width: int,
    ext: tuple[float, float],
    clip: bool = True,
    chunk: int = RENDER_CHUNK,
) -> np.ndarray:
    """The fitted image on a height x width grid: float32 (height, width, C), clipped to [0, 1] by default."""
    if height < 1 or width < 1:
        raise ValueError(f"cannot render {width}x{height} pixels")
    out = evaluate(model, pixel_centres(height, width, ext), chunk).reshape(height, width, -1).numpy()
    return np.clip(out, 0.0, 1.0) if clip else out


@dataclass
class ImageField:
    """A network mapping (x, y) to pixel values over the domain of a height x width image."""

    model: torch.nn.Module
    height: int
    width: int
    channels: int
    extent: tuple[float, float]
    has_alpha: bool = False

    def render(self, height: int | None = None, width: int | None = None) -> np.ndarray:
        """float32 (height, width, channels) in [0, 1] (premultiplied when has_alpha); default: source size."""
        return render(self.model, height or self.height, width or self.width, self.extent)

    def render_scaled(self, scale: float | None = None, size: tuple[int, int] | None = None) -> np.ndarray:
        """Render at `scale` times the source size, or at size (width, height)."""
        h, w = output_size(self.height, self.width, scale, size)
        return self.render(h, w)

    def straight(self, pixels: np.ndarray) -> np.ndarray:
        """A rendering with alpha un-premultiplied, ready to save."""
        if not self.has_alpha:
            return pixels
        a = pixels[..., -1:]
        colour = np.where(a > 1e-6, pixels[..., :-1] / np.maximum(a, 1e-6), 0.0)
        return np.concatenate([np.clip(colour, 0, 1), a], axis=-1).astype(np.float32)

    def save(
        self,
        path: str | os.PathLike,
        scale: float | None = None,
        size: tuple[int, int] | None = None,
        bit_depth: int = 8,
    ) -> Path:
        """Render at the requested size and write it (format by extension)."""
        return save_image(path, self.straight(self.render_scaled(scale, size)), bit_depth, self.has_alpha)

    def derivatives(
        self, height: int | None = None, width: int | None = None, chunk: int = RENDER_CHUNK
    ) -> dict[str, np.ndarray]:
        """Gradient magnitude and Laplacian of the fitted luminance, by autograd, on a height x width grid.

        Units are per pixel of that grid (so they compare with finite differences of the rendering):
        {'gradient': (H, W), 'laplacian': (H, W)} float32.
        """
        h, w = height or self.height, width or self.width
        px, py = pixel_pitch(h, w, self.extent)
        coords = pixel_centres(h, w, self.extent)
        dev = next(self.model.parameters()).device
        weights = torch.tensor(LUMA[self.channels], dtype=torch.float32, device=dev)
        grad_out = np.empty((h * w,), np.float32)
        lap_out = np.empty((h * w,), np.float32)
        was_training = self.model.training
        self.model.eval()
        try:
            for s in range(0, len(coords), chunk):
                x = coords[s : s + chunk].to(dev).requires_grad_(True)
                lum = (to_values(self.model(x)) * weights).sum(-1)
                (g,) = torch.autograd.grad(lum.sum(), x, create_graph=True)
                gx, gy = g[:, 0] * px, g[:, 1] * py  # per pixel of the output grid
                # second derivatives; a piecewise-linear (ReLU) network has none, which autograd reports
                # as a missing graph: that is a Laplacian of zero, not an error
                if g.requires_grad:
                    (hxx,) = torch.autograd.grad(g[:, 0].sum(), x, retain_graph=True, allow_unused=True)
                    (hyy,) = torch.autograd.grad(g[:, 1].sum(), x, allow_unused=True)
                    lxx = hxx[:, 0] * px * px if hxx is not None else torch.zeros_like(gx)
                    lyy = hyy[:, 1] * py * py if hyy is not None else torch.zeros_like(gy)
                else:
                    lxx = lyy = torch.zeros_like(gx)
                grad_out[s : s + chunk] = torch.sqrt(gx**2 + gy**2).detach().cpu().numpy()
                lap_out[s : s + chunk] = (lxx + lyy).detach().cpu().numpy()
        finally:
            self.model.train(was_training)
        return {"gradient": grad_out.reshape(h, w), "laplacian": lap_out.reshape(h, w)}

    # -- checkpoints --------------------------------------------------------------------------------
    def header(self, model_cfg: ModelConfig) -> dict:
        """The checkpoint header of this field: task, input/output sizes, model_cfg as a dict and the image's
        height, width, channels, alpha and extent."""
        return {
            "task": "image",
            "in_dim": 2,
            "out_dim": self.channels,
            "model": model_cfg.to_dict(),
            "image": {
                "height": self.height,
                "width": self.width,
                "channels": self.channels,
                "has_alpha": self.has_alpha,
                "extent": list(self.extent),
            },
        }

    @staticmethod
    def from_checkpoint(path: str | os.PathLike, device: str | None = "cpu") -> tuple[ImageField, dict]:
        """Rebuild a field from an image checkpoint; returns (field, header)."""
        data = ckpt.read(path)
        head = data.header
        if head.get("task") != "image":
            raise CheckpointError(path, f"holds a '{head.get('task', 'unknown')}' network, not an image")
        problem = check_config_types({"model": head.get("model"), "train": head.get("train", {})})
        if problem:
            raise CheckpointError(path, f"header configuration: {problem}")
        try:
            info = head["image"]
            cfg = ModelConfig.from_dict(head["model"])
            h, w, c = int(info["height"]), int(info["width"]), int(info["channels"])
            ext = (float(info["extent"][0]), float(info["extent"][1]))
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise CheckpointError(path, f"image header is incomplete ({str(e)[:100]})") from None
        if not (1 <= h <= 1 << 20 and 1 <= w <= 1 << 20 and c in (1, 2, 3, 4)):
            raise CheckpointError(path, f"image header describes an impossible image ({w}x{h}, {c} channels)")
        if not all(np.isfinite(e) and 0 < e <= 1 for e in ext) or head.get("out_dim", c) != c:
            raise CheckpointError(path, "image header's extent or output size does not fit the image")
        ckpt.check_network(path, data, cfg, 2, c)
        model = build_model(cfg, 2, c)
        ckpt.load_model_state(model, data, path)
        model.to(device or "cpu")
        return ImageField(model, h, w, c, ext, bool(info.get("has_alpha", False))), head


def finite_difference_maps(pixels: np.ndarray) -> dict[str, np.ndarray]:
    """The same two maps measured on a pixel image by differences (central gradient, 5-point Laplacian,
    mirrored borders), as the reference the autograd maps are compared with."""
    p = np.asarray(pixels, np.float32)
    lum = (p * np.asarray(LUMA[p.shape[2]], np.float32)).sum(-1)
    gy, gx = np.gradient(lum)
    return {
        "gradient": np.sqrt(gx**2 + gy**2).astype(np.float32),
        "laplacian": laplace(lum, mode="reflect").astype(np.float32),
    }
