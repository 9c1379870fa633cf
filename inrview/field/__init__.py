"""A trained network seen as a field in world coordinates: chunked, no_grad, on its device.

Values follow the one sign convention: negative inside. For SDF targets they are distances (in world units
through `__call__`, normalised units through `evaluate_unit`); for occupancy targets they are the negated
logit, so the surface is the zero level in both cases.

`image.ImageField` is the 2D counterpart: a fitted image network rendered at any size.
"""

from __future__ import annotations

import numpy as np
import torch

from ..io.geometry import Normalization

DEFAULT_CHUNK = 4096  # small chunks keep activations in cache: about 2x faster than 64k-row chunks on CPU


class Field:
    """A network as a field over world space: `field(points)` maps (N, 3) world points to (N,) float64
    values, negative inside (distances for 'sdf' targets, the negated logit for 'occupancy', the unsigned
    distance |network| for 'udf', which is nowhere negative), evaluated in
    chunks of `chunk` rows without gradients."""

    def __init__(
        self,
        model: torch.nn.Module,
        normalization: Normalization = Normalization(),
        target: str = "sdf",
        chunk: int = DEFAULT_CHUNK,
    ):
        self.model = model
        self.normalization = normalization
        self.target = target
        self.chunk = int(chunk)

    @property
    def device(self) -> torch.device:
        """The device of the network's weights (the CPU for a network without any)."""
        try:
            return next(self.model.parameters()).device
        except StopIteration:
            return torch.device("cpu")

    @property
    def is_distance(self) -> bool:
        """Whether values are distances (target 'sdf', or 'udf': unsigned, zero on the surface) rather than
        negated occupancy logits."""
        return self.target in ("sdf", "udf")

    def evaluate_unit(self, points: np.ndarray | torch.Tensor) -> np.ndarray:
        """(N,) float32 values at points given in normalised coordinates, shape (N, 3)."""
        return self.evaluate_unit_tensor(torch.as_tensor(np.asarray(points, dtype=np.float32))).numpy()

    def evaluate_unit_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """Like evaluate_unit for a CPU float32 tensor; returns a CPU float32 tensor."""
        return self.evaluate_device(x.to(self.device, non_blocking=True)).cpu()

    @torch.inference_mode()
    def evaluate_device(self, x: torch.Tensor) -> torch.Tensor:
        """Values at points already on the network's device, left there (the GPU extraction keeps its
        whole grid on the device). Chunked: small chunks keep a CPU's activations in cache, large ones keep
        a GPU busy."""
        was_training = self.model.training
        self.model.eval()
        out = torch.empty(x.shape[0], dtype=torch.float32, device=x.device)
        chunk = self.chunk if x.device.type == "cpu" else max(self.chunk, 1 << 20)
        try:
            for s in range(0, x.shape[0], chunk):
                y = self.model(x[s : s + chunk]).reshape(-1)
                out[s : s + chunk] = -y if self.target == "occupancy" else y.abs() if self.target == "udf" else y
        finally:
            self.model.train(was_training)
        return out

    def __call__(self, points_world: np.ndarray) -> np.ndarray:
        """(N,) values at world-space points; SDF values are converted to world units."""
        v = self.evaluate_unit(self.normalization.to_unit(points_world)).astype(np.float64)
        return v / self.normalization.scale if self.is_distance else v

    def gradient(self, points_world: np.ndarray) -> np.ndarray:
        """(N, 3) float64 gradient of the values `__call__` gives, at (N, 3) world-space points, by autograd
        in chunks of `chunk` rows. For SDF targets its norm is 1 where the network is a true distance (the
        eikonal check); for occupancy targets it is the gradient of the negated logit per world unit."""
        x = torch.as_tensor(np.asarray(self.normalization.to_unit(points_world), dtype=np.float32))
        out = np.empty((len(x), 3), dtype=np.float64)
        was_training = self.model.training
        self.model.eval()
        try:
            for s in range(0, len(x), self.chunk):
                xc = x[s : s + self.chunk].to(self.device).requires_grad_(True)
                y = self.model(xc).reshape(-1)
                y = y.abs() if self.target == "udf" else y
                (g,) = torch.autograd.grad(y.sum(), xc)
                out[s : s + self.chunk] = g.detach().cpu().numpy()
        finally:
            self.model.train(was_training)
        # d/dx_world = scale * d/dx_unit; distances are divided by the scale, occupancy logits are negated
        return out * (1.0 if self.is_distance else -self.normalization.scale)
