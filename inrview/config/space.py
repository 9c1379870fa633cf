"""Configuration of shape spaces: the latent decoder, the training of a space, and its samples per shape.
Plain values (no torch), recorded in every space checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from . import FLAT_GRID_KEYS, Config, GridEncoding, SamplingConfig

#: Samples per shape unless configured: a tenth of a single-shape fit's pool (a space sees each shape far
#: less often than a single fit does, and 40 shapes sample in under a minute on two cores).
SPACE_SAMPLING = SamplingConfig(n_samples=60_000, mix=(0.2, 0.4, 0.3, 0.1), sigmas=(0.01, 0.06))


@dataclass(frozen=True)
class LatentConfig(Config):
    """The latent decoder's shape (recorded in every space checkpoint)."""

    kind: Literal["grid", "deform", "deepsdf"] = "grid"
    """Decoder family: 'deepsdf' (MLP on [code, xyz] with a skip), 'grid' (shared grid + small MLP) or
    'deform' (a template deformed by displacement modes weighted by the code)."""
    latent_dim: int = 32
    """Length of each shape's code."""
    width: int = 128
    """Hidden units per layer."""
    depth: int = 3
    """Hidden layers."""
    grid: GridEncoding = GridEncoding(levels=3, base_resolution=4, max_resolution=16, features=4)
    """'grid': the feature grid every shape shares; 'deform': the grid of the displacement modes."""
    template: GridEncoding = GridEncoding(levels=4, base_resolution=8, max_resolution=64, features=2)
    """'deform': the template's feature grid (finer: the template carries the detail all shapes share)."""
    init_std: float = 0.01
    """Standard deviation of the initial codes (DeepSDF: 1/sqrt(latent_dim) scaled down)."""

    FORMER_KEYS = FLAT_GRID_KEYS


@dataclass(frozen=True)
class SpaceTrainConfig(Config):
    """How a space is trained (recorded in every space checkpoint)."""

    target: Literal["sdf", "occupancy"] = "sdf"
    """What the decoder learns: signed distance (clamped L1) or occupancy (BCE on logits)."""
    epochs: int = 300
    """Passes over the collection (each shape contributes points_per_shape samples per pass)."""
    seconds: float | None = None
    """Wall-clock budget instead of epochs (rank 0's clock decides for every rank)."""
    shapes_per_step: int = 8
    """Shapes in one optimisation step (over all processes together)."""
    points_per_shape: int = 2048
    """Samples per shape in one step."""
    lr: float = 2e-3
    """Adam learning rate of the decoder at the start (cosine decay to lr * lr_final_factor)."""
    code_lr: float = 2e-3
    """Adam learning rate of the codes at the start (same decay)."""
    lr_final_factor: float = 0.1
    """Final learning rates as a share of the initial ones."""
    clamp: float = 0.1
    """DeepSDF clamp distance, normalised units."""
    code_reg: float = 1e-4
    """Weight of the code regulariser (DeepSDF's 1/sigma^2), per shape in a batch."""
    seed: int = 0
    """Seed for weights, codes, samples and batches."""
    device: str = "auto"
    """'auto', 'cpu', 'cuda', 'cuda:1'; under torchrun on GPUs each process takes cuda:LOCAL_RANK."""
    threads: int | None = None
    """CPU threads per process; None: the cores divided among the processes on this node."""
